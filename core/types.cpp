#include "core/types.hpp"

namespace core {

const char* port_name(Port p) {
  switch (p) {
    case Port::kHost: return "host";
    case Port::kRaft: return "raft";
    case Port::kRpc: return "rpc";
    case Port::kSerfLan: return "serf-lan";
    case Port::kSerfWan: return "serf-wan";
  }
  return "?";
}

}  // namespace core
