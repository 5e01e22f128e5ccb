// libyaml as Debian ships it (libyaml-dev), the YAML parser behind Shared's agent.yml and shipkeep.yml reader.
#ifndef SHIPKEEP_CYAML_SHIM_H
#define SHIPKEEP_CYAML_SHIM_H

#include <yaml.h>

#endif
