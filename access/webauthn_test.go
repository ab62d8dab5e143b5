package access

import (
	"bytes"
	"testing"

	"remoteidv/models"
)

// TestDecisionChallenge: the challenge a decision's key signs changes with
// every part it covers (server random, case, decision, statement), and
// the parts cannot be shifted into one another.
func TestDecisionChallenge(t *testing.T) {
	nonce := bytes.Repeat([]byte{7}, 32)
	base := DecisionBinding{CaseID: "case_a", Decision: models.DecisionApprove, StatementSHA256: "ab"}
	want := decisionChallenge(nonce, base)
	tests := []struct {
		name  string
		nonce []byte
		b     DecisionBinding
	}{
		{"another server random", bytes.Repeat([]byte{8}, 32), base},
		{"another case", nonce, DecisionBinding{CaseID: "case_b", Decision: models.DecisionApprove, StatementSHA256: "ab"}},
		{"another decision", nonce, DecisionBinding{CaseID: "case_a", Decision: models.DecisionReject, StatementSHA256: "ab"}},
		{"another statement", nonce, DecisionBinding{CaseID: "case_a", Decision: models.DecisionApprove, StatementSHA256: "cd"}},
		{"no statement", nonce, DecisionBinding{CaseID: "case_a", Decision: models.DecisionApprove}},
		{"parts shifted", nonce, DecisionBinding{CaseID: "case_aapprove", Decision: "", StatementSHA256: "ab"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decisionChallenge(tt.nonce, tt.b); bytes.Equal(got, want) {
				t.Errorf("decisionChallenge(%s) = the challenge of %+v, want another", tt.name, base)
			}
		})
	}
	if got := mustBinding(base.String()); got != base {
		t.Errorf("mustBinding(%q) = %+v, want %+v", base.String(), got, base)
	}
}
