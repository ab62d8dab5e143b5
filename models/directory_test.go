package models

import (
	"slices"
	"testing"
)

func TestParseGroupRoles(t *testing.T) {
	tests := []struct {
		in      string
		want    []GroupRole
		wantErr bool
	}{
		{"", nil, false},
		{"clerk=cn=idv-clerks,ou=groups,dc=bank", []GroupRole{{"cn=idv-clerks,ou=groups,dc=bank", RoleClerk}}, false},
		{" Supervisor = CN=Sup, DC=x ; admin=ops ;", []GroupRole{{"CN=Sup, DC=x", RoleSupervisor}, {"ops", RoleAdmin}}, false},
		{"boss=cn=x", nil, true},
		{"clerk", nil, true},
		{"clerk=", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseGroupRoles(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("ParseGroupRoles(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRolesOf(t *testing.T) {
	m := []GroupRole{{"cn=idv-clerks,ou=groups,dc=bank", RoleClerk}, {"CN=IDV Supervisors, OU=Groups, DC=bank", RoleSupervisor},
		{"cn=ops\\,team,dc=bank", RoleAdmin}, {"cn=idv-clerks,ou=groups,dc=bank", RoleAuditor}, {"Ops", RoleAdmin}}
	tests := []struct {
		groups []string
		want   []Role
	}{
		{nil, nil},
		{[]string{"cn=other,dc=bank"}, nil},
		{[]string{"CN=IDV-Clerks,OU=Groups,DC=Bank"}, []Role{RoleClerk, RoleAuditor}},
		{[]string{"cn=idv supervisors,ou=groups,dc=bank", "cn=idv-clerks, ou=groups, dc=bank"}, []Role{RoleClerk, RoleSupervisor, RoleAuditor}},
		{[]string{"cn=ops\\,team,dc=bank"}, []Role{RoleAdmin}},
		{[]string{"cn=ops,dc=bank"}, nil}, // not the escaped comma's group
		{[]string{"ops"}, []Role{RoleAdmin}},
		{[]string{"cn=idv-clerks,ou=groups,dc=bank,dc=evil"}, nil},
	}
	for _, tt := range tests {
		if got := RolesOf(m, tt.groups); !slices.Equal(got, tt.want) {
			t.Errorf("RolesOf(%q) = %v, want %v", tt.groups, got, tt.want)
		}
	}
}
