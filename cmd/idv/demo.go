package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"remoteidv/models"
)

// johnsDir holds real face photos from Debian's libdlib19.1 package.
const johnsDir = "/usr/share/doc/libdlib19.1/examples/johns"

type demoAccount struct {
	no, name, nameZH, nationalID, email, phone, tz, lang, person string
}

var demoAccounts = []demoAccount{
	{"6222020200112233", "Li Wei", "李伟", "110101198507150032", "li.wei@example.com", "+1 212 555 0147", "America/New_York", "zh-CN", "John_Salley"},
	{"6222020200445566", "Zhang Min", "张敏", "310104199002287713", "zhang.min@example.com", "+1 415 555 0190", "America/Los_Angeles", "zh-CN", "John_Savage"},
	{"6222020200778899", "Wang Jun", "王军", "440305198811094455", "wang.jun@example.com", "+44 20 7946 0321", "Europe/London", "en", "John_Schneider"},
	{"6222020200990011", "Chen Hao", "陈浩", "510107199112302214", "chen.hao@example.com", "+61 2 5550 1234", "Australia/Sydney", "zh-CN", "John_Shimkus"},
	{"6222020200223344", "Liu Yang", "", "330106198603184426", "liu.yang@example.com", "+1 416 555 0110", "America/Toronto", "en", "John_Simm"},
}

var demoStaff = []struct {
	user, name string
	roles      []models.Role
}{
	{"clerk", "Wang Fang", []models.Role{models.RoleClerk}},
	{"clerk2", "Zhao Lei", []models.Role{models.RoleClerk}},
	{"supervisor", "Sun Li", []models.Role{models.RoleSupervisor}},
	{"auditor", "Qian Yu", []models.Role{models.RoleAuditor}},
	{"admin", "Zhou Ning", []models.Role{models.RoleAdmin}},
}

func runDemo(ctx context.Context, e *cliEnv, args []string) error {
	if len(args) > 0 && args[0] == "customer" {
		return runDemoCustomer(ctx, e, args[1:])
	}
	if len(args) > 0 && args[0] == "story" {
		return runDemoStory(ctx, e, args[1:])
	}
	if len(args) == 0 || args[0] != "load" {
		return usageError("usage: idv demo load|customer|story [flags] [config flags]")
	}
	return withApp(ctx, e, "demo load", args[1:], func(a *app, _ []string) error {
		dir := filepath.Join(a.cfg.DataDir, "demo")
		if err := os.MkdirAll(filepath.Join(dir, "images"), 0o750); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		passwords, err := demoPasswords(filepath.Join(dir, "passwords.txt"))
		if err != nil {
			return err
		}
		for _, s := range demoStaff {
			_, err := a.access.CreateStaff(ctx, "demo", s.user, s.name, passwords[s.user], s.roles)
			if err != nil && models.ErrorCodeOf(err) != models.ECONFLICT {
				return fmt.Errorf("demo staff %s: %w", s.user, err)
			}
		}
		csvPath, err := writeDemoAccounts(dir)
		if err != nil {
			return err
		}
		f, err := os.Open(csvPath)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer f.Close()
		checker, closeChecker, err := a.photoChecker(ctx)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer closeChecker()
		rep, err := a.accounts.ImportFrom(ctx, "demo", "idv demo load", f, os.DirFS(filepath.Join(dir, "images")), checker)
		if err != nil {
			return fmt.Errorf("demo accounts: %w", err)
		}
		if rep.Failed > 0 {
			return fmt.Errorf("demo accounts: %d rows failed: %+v", rep.Failed, rep.Rows)
		}
		// The demo is calibrated out of the box (calibrate.go).
		if err := calibrateDemo(ctx, a, e.stdout); err != nil {
			return err
		}
		if err := writeDemoLedger(filepath.Join(dir, "ledger.csv")); err != nil {
			return err
		}
		// The demo ledger is every booking up to now (it has none after 2025).
		if _, _, err := importLedger(ctx, a, "demo", filepath.Join(dir, "ledger.csv"), time.Now().UTC()); err != nil {
			return err
		}
		regPath, err := writeDemoRegistry(dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "reference registry records in %s (idv registry serve --records %s)\n", regPath, regPath)
		fmt.Fprintf(e.stdout, "demo data ready: %d accounts (photos from %s), ledger in %s\n", rep.Imported, johnsDir, filepath.Join(dir, "ledger.csv"))
		fmt.Fprintln(e.stdout, "demo logins (also in "+filepath.Join(dir, "passwords.txt")+"):")
		for _, s := range demoStaff {
			fmt.Fprintf(e.stdout, "  %-11s %-22s password %s\n", s.user, rolesOf(s.roles), passwords[s.user])
		}
		return nil
	})
}

func rolesOf(rs []models.Role) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

// demoPasswords reads the demo passwords, making and saving them (0600) on
// first use, so a second `make run` prints the same logins.
func demoPasswords(path string) (map[string]string, error) {
	out := map[string]string{}
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if user, pw, ok := strings.Cut(sc.Text(), " "); ok {
				out[user] = pw
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("demo passwords: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("demo passwords: %w", err)
	}
	var lines []string
	for _, s := range demoStaff {
		if out[s.user] == "" {
			b := make([]byte, 10)
			if _, err := rand.Read(b); err != nil {
				return nil, err
			}
			out[s.user] = "demo-" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
		}
		lines = append(lines, s.user+" "+out[s.user])
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("demo passwords: %w", err)
	}
	return out, nil
}

// writeDemoAccounts copies two johns photos per account, draws a signature
// specimen, and writes the import CSV.
func writeDemoAccounts(dir string) (string, error) {
	rows := [][]string{{"account_no", "holder_name", "national_id", "email", "phone", "time_zone", "language", "photos", "signature", "holder_name_alt"}}
	for i, a := range demoAccounts {
		photos, err := filepath.Glob(filepath.Join(johnsDir, a.person, "*.jpg"))
		if err != nil || len(photos) < 2 {
			return "", fmt.Errorf("demo: photos of %s not found in %s (install Debian package libdlib-dev, which brings libdlib19.1)", a.person, johnsDir)
		}
		sort.Strings(photos)
		var names []string
		for j, p := range photos[:2] {
			b, err := os.ReadFile(p)
			if err != nil {
				return "", fmt.Errorf("demo: %w", err)
			}
			name := fmt.Sprintf("%s-photo-%d.jpg", a.no, j+1)
			if err := os.WriteFile(filepath.Join(dir, "images", name), b, 0o640); err != nil {
				return "", fmt.Errorf("demo: %w", err)
			}
			names = append(names, name)
		}
		sig := fmt.Sprintf("%s-signature.png", a.no)
		if err := writeSignature(filepath.Join(dir, "images", sig), int64(i+1)); err != nil {
			return "", err
		}
		rows = append(rows, []string{a.no, a.name, a.nationalID, a.email, a.phone, a.tz, a.lang, strings.Join(names, ";"), sig, a.nameZH})
	}
	path := filepath.Join(dir, "accounts.csv")
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return path, f.Sync()
}

// writeSignature writes demoSignature(seed) as a PNG.
func writeSignature(path string, seed int64) error {
	img := demoSignature(seed)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("demo signature: %w", err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		return fmt.Errorf("demo signature: %w", err)
	}
	return nil
}

// demoSignature draws a pen stroke (a seeded sum of sines) on white: the
// signature specimen of demo account seed-1, and its letter's signature.
func demoSignature(seed int64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 480, 160))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	r := mrand.New(mrand.NewPCG(uint64(seed), 7))
	a1, a2, f1, f2 := 30+r.Float64()*20, 10+r.Float64()*15, 0.02+r.Float64()*0.03, 0.08+r.Float64()*0.05
	for x := 30.0; x < 450; x += 0.25 {
		y := 80 + a1*math.Sin(f1*x) + a2*math.Sin(f2*x+float64(seed))
		for dx := -1; dx <= 1; dx++ {
			for dy := -1; dy <= 1; dy++ {
				img.Set(int(x)+dx, int(y)+dy, color.Gray{Y: 20})
			}
		}
	}
	return img
}

// writeDemoLedger writes a year of transactions per demo account, for the
// statement feature's `idv ledger import`.
func writeDemoLedger(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("demo ledger: %w", err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	_ = w.Write([]string{"account_no", "booked_at", "description", "amount", "currency"})
	memos := []string{"Salary transfer", "Rent", "Card payment", "ATM withdrawal", "Interest", "Utility bill", "Transfer to family"}
	for i, a := range demoAccounts {
		r := mrand.New(mrand.NewPCG(uint64(i+1), 42))
		day := time.Date(2025, 1, 2, 9, 0, 0, 0, time.UTC)
		for day.Year() == 2025 {
			memo := memos[r.IntN(len(memos))]
			cents := int64(r.IntN(500000)) + 100
			if memo != "Salary transfer" && memo != "Interest" {
				cents = -cents / 4
			}
			_ = w.Write([]string{a.no, day.Format(time.RFC3339), memo, fmt.Sprintf("%.2f", float64(cents)/100), "CNY"})
			day = day.Add(time.Duration(1+r.IntN(5)) * 24 * time.Hour)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("demo ledger: %w", err)
	}
	return f.Sync()
}

// writeDemoRegistry writes registry records for the demo accounts, with the
// first johns photo of each as the registry photo.
func writeDemoRegistry(dir string) (string, error) {
	type rec struct {
		IDNumber  string    `json:"id_number"`
		Name      string    `json:"name"`
		Status    string    `json:"status"`
		PhotoFile string    `json:"photo_file"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	var recs []rec
	for _, a := range demoAccounts {
		recs = append(recs, rec{IDNumber: a.nationalID, Name: a.name, Status: models.RegistryValid,
			PhotoFile: filepath.Join("images", a.no+"-photo-1.jpg"), UpdatedAt: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	}
	b, err := json.MarshalIndent(recs, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "registry.json")
	if err := os.WriteFile(path, b, 0o640); err != nil {
		return "", fmt.Errorf("demo registry: %w", err)
	}
	return path, nil
}
