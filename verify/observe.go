package verify

import (
	"context"
	"fmt"

	"remoteidv/models"
)

// ObserveStarted audits a supervisor (actor) starting to watch the live
// call of case id: call.observe_started with the call. The media layer
// keeps the observer out if this fails, so no one watches unrecorded.
func (c *Calls) ObserveStarted(ctx context.Context, id models.CaseID, call models.CallID, actor string) error {
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		return c.svc.event(ctx, tx, actor, id, "call.observe_started", map[string]string{"call": string(call)})
	})
	if err != nil {
		return fmt.Errorf("observe call %s: %w", call, err)
	}
	return nil
}

// ObserveStopped audits the supervisor (actor) no longer watching the
// call, and why (left, call ended, disabled, logged out, ...):
// call.observe_stopped.
func (c *Calls) ObserveStopped(ctx context.Context, id models.CaseID, call models.CallID, actor, reason string) error {
	err := c.svc.store.Transact(ctx, func(tx models.Tx) error {
		return c.svc.event(ctx, tx, actor, id, "call.observe_stopped", map[string]string{"call": string(call), "reason": reason})
	})
	if err != nil {
		return fmt.Errorf("stop observing call %s: %w", call, err)
	}
	return nil
}
