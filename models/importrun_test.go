package models

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAccountStatusAttention(t *testing.T) {
	tests := []struct {
		name string
		s    AccountStatus
		want []string
	}{
		{"ready", AccountStatus{Photos: 2, Signature: true, Enrolled: 2}, nil},
		{"a photo flagged", AccountStatus{Photos: 2, Flagged: 1, Signature: true, Enrolled: 1}, []string{AttentionFlaggedPhoto}},
		{"no photo", AccountStatus{Signature: true}, []string{AttentionNoPhoto}},
		{"no signature", AccountStatus{Photos: 1, Enrolled: 1}, []string{AttentionNoSignature}},
		{"half enrolled", AccountStatus{Photos: 2, Signature: true, Enrolled: 1}, []string{AttentionNotEnrolled}},
		{"everything", AccountStatus{Photos: 3, Flagged: 1, Enrolled: 0}, []string{AttentionFlaggedPhoto, AttentionNoSignature, AttentionNotEnrolled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.Attention()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%+v.Attention() (-want +got):\n%s", tt.s, diff)
			}
			if tt.s.NeedsAttention() != (len(tt.want) > 0) {
				t.Errorf("%+v.NeedsAttention() = %v, want %v", tt.s, tt.s.NeedsAttention(), len(tt.want) > 0)
			}
		})
	}
}
