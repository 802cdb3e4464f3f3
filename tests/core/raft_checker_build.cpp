// Compiles sim::RaftChecker into core_tests. The checker depends only on
// core/ and the standard library (see sim/raft_checker.hpp), so building its
// source here keeps core_tests linked against clustersim_core alone, as the
// layer rule asks. Remove this file if core_tests ever links clustersim_sim.
#include "sim/raft_checker.cpp"  // NOLINT(bugprone-suspicious-include)
