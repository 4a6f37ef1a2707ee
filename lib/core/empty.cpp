// Keeps a module library non-empty while its directory has no sources of its own yet.
