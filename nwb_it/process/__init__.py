"""Analyses on NWB files written by nwb_it: binning, reliability, figures."""
