// SQLite as Debian ships it (libsqlite3-dev), for the agent's consistent snapshots of live databases.
#ifndef SHIPKEEP_CSQLITE_SHIM_H
#define SHIPKEEP_CSQLITE_SHIM_H

#include <sqlite3.h>

#endif
