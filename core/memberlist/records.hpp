// Trace records of memberlist (core/memberlist), family kFamilyMemberlist.
// They say what a node's view of the cluster became, so that a layer can
// measure convergence and failure detection from outside.
#pragma once

#include "core/record.hpp"

namespace core::memberlist {

// The viewer's record of `a` changed: b = new State, c = incarnation.
// Also emitted when a node first learns of a member (b = kAlive).
inline constexpr RecordKind kRecordState{0x0301};
// A probe of `a` failed (no direct, indirect or stream ack): b = nacks
// received, c = nacks expected.
inline constexpr RecordKind kRecordProbeFailed{0x0302};
// The viewer refuted an accusation about itself: a = new incarnation,
// b = the accuser, c = State accused of (suspect or dead).
inline constexpr RecordKind kRecordRefute{0x0303};
// The local health score changed: a = new score.
inline constexpr RecordKind kRecordAwareness{0x0304};
// A member reaped from the node list (dead or left for GossipToTheDeadTime): a.
inline constexpr RecordKind kRecordReap{0x0305};

RecordInfo record_info(RecordKind kind);

}  // namespace core::memberlist
