"""File formats: MAT sessions in, NWB files out."""
