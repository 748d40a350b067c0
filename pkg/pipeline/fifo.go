package pipeline

// The FIFO failure rule, the one place it is written: the queues are FIFO
// with one message group per user, so once a message of a group fails in a
// batch, every later message of that group in the batch fails too, unread,
// and all of them come back in their order. A later decision must never
// overtake an earlier one that is being retried.

// heldBackReason is the failure reason of a message held back by the rule.
const heldBackReason = "an earlier message of this user failed; delivered after it"

// fifoGroups tracks the groups that failed in one batch.
type fifoGroups map[string]bool

// held reports whether a message of group must fail because an earlier one
// of its group did. Messages without a group are never held.
func (g fifoGroups) held(group string) bool { return group != "" && g[group] }

// fail records that a message of group failed.
func (g fifoGroups) fail(group string) {
	if group != "" {
		g[group] = true
	}
}

// HoldBack applies the FIFO failure rule to a handled batch: it returns
// failures followed by a failure for every message, in batch order, that
// comes after a failed message of its group and did not fail itself.
func HoldBack(msgs []Message, failures []Failure) []Failure {
	failed := make(map[string]bool, len(failures))
	for _, f := range failures {
		failed[f.MessageID] = true
	}
	out := failures
	groups := fifoGroups{}
	for _, m := range msgs {
		switch {
		case failed[m.ID]:
			groups.fail(m.GroupID)
		case groups.held(m.GroupID):
			out = append(out, Failure{MessageID: m.ID, Reason: heldBackReason})
		}
	}
	return out
}
