package testenv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Slapd is a private OpenLDAP server (Debian's slapd, mdb backend) on
// loopback ports, with its own configuration and database in a test's
// temporary folder and the directory of SlapdLDIF loaded.
//
// The directory (suffix dc=bank,dc=example): the service account
// cn=idv-search (password "search-secret"); enabled staff in ou=people
// (alice: clerk group; sam: supervisor and clerk groups; ada: admin group;
// nora: no mapped group; each password "<name>-pass-1"); a disabled
// member dave in ou=disabled, the OpenLDAP convention this project
// documents: disabling an account moves it out of the user search base,
// so a search of ou=people does not find it; groups (groupOfNames) in
// ou=groups: idv-clerks, idv-supervisors, idv-admins, other-team.
type Slapd struct {
	URL      string // ldap://127.0.0.1:PORT (StartTLS offered)
	LDAPSURL string // ldaps://127.0.0.1:PORT
	CAFile   string // PEM of the CA that issued the server's certificate (for 127.0.0.1)
	RootDN   string // the administrator, for changes made by tests
	RootPW   string
	cmd      *exec.Cmd
	dir      string
}

// The directory's names, for tests.
const (
	SlapdSuffix       = "dc=bank,dc=example"
	SlapdBindDN       = "cn=idv-search,dc=bank,dc=example"
	SlapdBindPassword = "search-secret"
	SlapdPeople       = "ou=people,dc=bank,dc=example"
	SlapdGroups       = "ou=groups,dc=bank,dc=example"
)

// SlapdLDIF is the directory a new Slapd holds.
var SlapdLDIF = `dn: dc=bank,dc=example
objectClass: dcObject
objectClass: organization
o: Bank
dc: bank

dn: cn=idv-search,dc=bank,dc=example
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: idv-search
userPassword: search-secret

dn: ou=people,dc=bank,dc=example
objectClass: organizationalUnit
ou: people

dn: ou=disabled,dc=bank,dc=example
objectClass: organizationalUnit
ou: disabled

dn: ou=groups,dc=bank,dc=example
objectClass: organizationalUnit
ou: groups
` + slapdPeople + slapdGroupsLDIF

var slapdPeople = func() string {
	var b strings.Builder
	for _, p := range []struct{ uid, name, ou string }{
		{"alice", "Alice Clerk", "people"}, {"sam", "Sam Supervisor", "people"}, {"ada", "Ada Admin", "people"},
		{"nora", "Nora Nogroup", "people"}, {"dave", "Dave Departed", "disabled"},
	} {
		fmt.Fprintf(&b, "\ndn: uid=%s,ou=%s,dc=bank,dc=example\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\ndisplayName: %s\nuserPassword: %s-pass-1\n",
			p.uid, p.ou, p.uid, p.name, strings.Fields(p.name)[1], p.name, p.uid)
	}
	return b.String()
}()

const slapdGroupsLDIF = `
dn: cn=idv-clerks,ou=groups,dc=bank,dc=example
objectClass: groupOfNames
cn: idv-clerks
member: uid=alice,ou=people,dc=bank,dc=example
member: uid=sam,ou=people,dc=bank,dc=example
member: uid=dave,ou=disabled,dc=bank,dc=example

dn: cn=idv-supervisors,ou=groups,dc=bank,dc=example
objectClass: groupOfNames
cn: idv-supervisors
member: uid=sam,ou=people,dc=bank,dc=example

dn: cn=idv-admins,ou=groups,dc=bank,dc=example
objectClass: groupOfNames
cn: idv-admins
member: uid=ada,ou=people,dc=bank,dc=example

dn: cn=other-team,ou=groups,dc=bank,dc=example
objectClass: groupOfNames
cn: other-team
member: uid=nora,ou=people,dc=bank,dc=example
`

const slapdConf = `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {{dir}}/slapd.pid
argsfile {{dir}}/slapd.args
TLSCACertificateFile {{dir}}/ca.pem
TLSCertificateFile {{dir}}/server.pem
TLSCertificateKeyFile {{dir}}/server-key.pem
database mdb
maxsize 67108864
suffix "dc=bank,dc=example"
rootdn "cn=admin,dc=bank,dc=example"
rootpw admin-secret
directory {{dir}}/db
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
`

// StartSlapd starts a Slapd and stops it at the test's end. It fails the
// test when slapd is not installed (scripts/setup.sh installs slapd and
// ldap-utils).
func StartSlapd(t testing.TB) *Slapd {
	t.Helper()
	bin := "/usr/sbin/slapd"
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("testenv: slapd is required (apt-get install slapd ldap-utils; make test installs them): %v", err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	ca := writeTestCA(t, dir)
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(slapdConf, "{{dir}}", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	add := exec.Command("/usr/sbin/slapadd", "-f", conf, "-b", SlapdSuffix)
	add.Stdin = strings.NewReader(SlapdLDIF)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("testenv: slapadd: %v\n%s", err, out)
	}
	s := &Slapd{CAFile: ca, RootDN: "cn=admin," + SlapdSuffix, RootPW: "admin-secret", dir: dir}
	s.start(t)
	return s
}

// start runs slapd on two free loopback ports and waits until it answers.
func (s *Slapd) start(t testing.TB) {
	t.Helper()
	plain, tlsPort := freePort(t), freePort(t)
	s.URL = "ldap://127.0.0.1:" + plain
	s.LDAPSURL = "ldaps://127.0.0.1:" + tlsPort
	var out bytes.Buffer
	// -d keeps slapd in the foreground (a child we can stop); level 0 logs nothing but errors.
	cmd := exec.Command("/usr/sbin/slapd", "-f", filepath.Join(s.dir, "slapd.conf"), "-h", s.URL+"/ "+s.LDAPSURL+"/", "-d", "0")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("testenv: start slapd: %v", err)
	}
	s.cmd = cmd
	t.Cleanup(s.Stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+plain, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			s.Stop()
			t.Fatalf("testenv: slapd did not answer on %s: %v\n%s", s.URL, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop ends slapd (a directory outage). It may be called more than once.
func (s *Slapd) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Modify applies LDIF changes (changetype records) as the administrator
// with ldapmodify.
func (s *Slapd) Modify(t testing.TB, ldif string) {
	t.Helper()
	cmd := exec.Command("ldapmodify", "-x", "-H", s.URL, "-D", s.RootDN, "-w", s.RootPW)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: ldapmodify: %v\n%s", err, out)
	}
}

// writeTestCA writes a CA (ca.pem) and a server certificate for 127.0.0.1
// and localhost (server.pem, server-key.pem) into dir; it returns the CA's
// path.
func writeTestCA(t testing.TB, dir string) string {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test directory CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("server.pem", "CERTIFICATE", der)
	write("server-key.pem", "PRIVATE KEY", keyDER)
	return filepath.Join(dir, "ca.pem")
}
