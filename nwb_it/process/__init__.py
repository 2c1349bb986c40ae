"""Pure analyses: numpy/scipy/Elephant/neo in, arrays and result objects out.

Nothing here reads or writes a file, imports pynwb/hdmf/h5py or draws: the
``steps`` runners read an NWB file through ``nwb``, call these, and write back.
"""
