// The cleanup decision: whether an on-finish action deletes a task's pod,
// given how the task ended. cleanup.go carries it out; gc applies it to pods
// nobody follows any more.

package launch

// ShouldDelete decides the on-finish action. active says the task did not
// finish on its own (interrupted, or never started).
func ShouldDelete(action OnFinishAction, outcome Outcome, active bool) bool {
	switch action {
	case KeepPod:
		return false
	case DeleteSucceededPod:
		if active && outcome == OutcomeInterrupted {
			return true // an interrupted pod did not fail: nothing to inspect, do not orphan it
		}
		return outcome == OutcomeSucceeded
	case DeleteActivePod:
		return active
	default:
		return true
	}
}

func (t *tracker) willDelete(action OnFinishAction, active bool) bool {
	return ShouldDelete(action, t.result.Outcome, active)
}
