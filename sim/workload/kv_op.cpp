#include "sim/workload/kv_op.hpp"

namespace sim {

const char* kv_op_name(KvOp::Kind k) {
  switch (k) {
    case KvOp::Kind::kPut: return "write";
    case KvOp::Kind::kCas: return "cas";
    case KvOp::Kind::kGet: return "read";
    case KvOp::Kind::kDelete: return "delete";
  }
  return "?";
}

}  // namespace sim
