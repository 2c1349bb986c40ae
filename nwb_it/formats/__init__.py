"""Source formats: one module per format behind :class:`~nwb_it.formats.base.SourceInterface`.

``l2str``: the lab's MATLAB ``L2_str`` sessions (v7.3 HDF5 fast path, h5py fallback, v5).
"""
