"""One file per schema revision of the operational store, oldest first."""
