package httpapi

import "testing"

// TestLocalPath: where a step-up at the identity provider may send the
// browser back to is a path of this site, never another host.
func TestLocalPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/review/cases/case_1", "/review/cases/case_1"},
		{"/", "/"},
		{"", ""},
		{"//evil.example/x", ""},
		{"/\\evil.example", ""},
		{"https://evil.example/", ""},
		{"review", ""},
		{"/a\r\nSet-Cookie: x", ""},
	}
	for _, tt := range tests {
		if got := localPath(tt.in); got != tt.want {
			t.Errorf("localPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
