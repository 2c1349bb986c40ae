"""File writing that is not about NWB: atomic replacement, locks, permissions (below every layer that writes)."""
from .atomic import atomic_folder, atomic_output, check_updatable, locked, refuse_existing, refuse_same_file

__all__ = ["atomic_folder", "atomic_output", "check_updatable", "locked", "refuse_existing", "refuse_same_file"]
