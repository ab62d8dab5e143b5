package access

import (
	"context"
	"fmt"

	"remoteidv/models"
)

// Kinds of client failures counted per address (ClientFailed).
const (
	// ClientBadLink is an invalid, spent or expired invite link, or a
	// customer session cookie that is no longer valid.
	ClientBadLink = "link"
	// ClientBadCode is a wrong email code.
	ClientBadCode = "code"
)

const scopeClient = "client:"

// ClientBlocked reports whether the client address remote has used up its
// failures of kind (Limits.ClientMax within ClientWindow). The counters
// are rows of the database, so every node of the service counts the same
// failures: a guesser gains nothing by spreading its tries over the nodes
// behind a load balancer. It only reads.
func (s *Service) ClientBlocked(ctx context.Context, kind, remote string) (bool, error) {
	s.init()
	now := s.Now().UTC()
	var l *models.AuthLimit
	err := s.Store.Transact(ctx, func(tx models.Tx) (err error) {
		l, err = tx.AuthLimit(ctx, scopeClient+kind, Source(remote))
		return err
	})
	switch {
	case models.ErrorCodeOf(err) == models.ENOTFOUND:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("client limit %s: %w", kind, err)
	}
	return now.Sub(l.WindowStart) < s.lim.ClientWindow && l.Failures >= s.lim.ClientMax, nil
}

// ClientFailed counts one failure of kind from remote, in a window of
// ClientWindow that starts at the first failure.
func (s *Service) ClientFailed(ctx context.Context, kind, remote string) error {
	s.init()
	now := s.Now().UTC()
	err := s.Store.Transact(ctx, func(tx models.Tx) error {
		l, err := tx.AuthLimitForUpdate(ctx, scopeClient+kind, Source(remote))
		if err != nil {
			return err
		}
		if l.WindowStart.IsZero() || now.Sub(l.WindowStart) >= s.lim.ClientWindow {
			l.WindowStart, l.Failures = now, 0
		}
		l.Failures++
		l.LastAt = now
		return tx.PutAuthLimit(ctx, l)
	})
	if err != nil {
		return fmt.Errorf("count client failure %s: %w", kind, err)
	}
	return nil
}
