package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"remoteidv/internal/demobrowser"
	"remoteidv/models"
)

// demoFrontal is, per demo account holder, a frontal johns photo other
// than the two on file (|yaw| <= 0.02 by dlib's five landmarks,
// facematch.EstimateYaw): the synthetic camera renders the live customer
// from it (synthcam.LiveScript), turning as the liveness prompts ask.
var demoFrontal = map[string]string{
	"John_Salley":    "000186_02159346.jpg",
	"John_Savage":    "000290_01099067.jpg",
	"John_Schneider": "000325_00925954.jpg",
	"John_Shimkus":   "000388_03227773.jpg",
	"John_Simm":      "000300_00470148.jpg",
}

// holderPhotos reads the synthetic camera's photo of person.
func holderPhotos(person string) (demobrowser.Photos, error) {
	file, ok := demoFrontal[person]
	if !ok {
		return demobrowser.Photos{}, fmt.Errorf("no demo photos of %s", person)
	}
	b, err := os.ReadFile(filepath.Join(johnsDir, person, file))
	if err != nil {
		return demobrowser.Photos{}, fmt.Errorf("demo photos (Debian package libdlib-dev brings them): %w", err)
	}
	return demobrowser.Photos{Center: demobrowser.Pose{JPEG: b}}, nil
}

// demoSignatureRegion is where demoLetter puts the signature.
var demoSignatureRegion = image.Rect(380, 400, 860, 560)

// demoLetter is account i's authorization letter, a scan-like page:
// lines standing for the printed text and, where it is signed, the
// account's demo signature specimen (writeSignature's stroke), drawn a
// few pixels off as a hand would.
func demoLetter(i int) ([]byte, error) {
	page := image.NewGray(image.Rect(0, 0, 900, 620))
	draw.Draw(page, page.Bounds(), image.NewUniform(color.Gray{Y: 250}), image.Point{}, draw.Src)
	ink := image.NewUniform(color.Gray{Y: 90})
	for n, y := 0, 50; y < 360; n, y = n+1, y+28 {
		w := 780 - (n*97)%260
		draw.Draw(page, image.Rect(60, y, 60+w, y+7), ink, image.Point{}, draw.Src)
	}
	sig := demoSignature(int64(i + 1))
	at := demoSignatureRegion.Min.Add(image.Pt(3, 2))
	for y := sig.Bounds().Min.Y; y < sig.Bounds().Max.Y; y++ {
		for x := sig.Bounds().Min.X; x < sig.Bounds().Max.X; x++ {
			if g := sig.GrayAt(x, y); g.Y < 128 {
				page.SetGray(at.X+x, at.Y+y, g)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, page); err != nil {
		return nil, fmt.Errorf("demo letter: %w", err)
	}
	return b.Bytes(), nil
}

// customerFlags is how the synthetic customer behaves.
type customerFlags struct {
	wrongPerson, frozen, noCode bool
	wait                        time.Duration
	screenshots                 string
}

// demoCustomer makes the synthetic customer of account i for the invite
// link: its camera shows the holder (another demo holder with
// wrongPerson), its letter is signed with the account's specimen, and its
// email code comes from the demo mailbox through c.
func demoCustomer(c *demoClient, i int, invite string, f customerFlags, step func(string)) (demobrowser.Customer, error) {
	acct := demoAccounts[i]
	person := acct.person
	if f.wrongPerson {
		person = demoAccounts[(i+1)%len(demoAccounts)].person
	}
	photos, err := holderPhotos(person)
	if err != nil {
		return demobrowser.Customer{}, err
	}
	letter, err := demoLetter(i)
	if err != nil {
		return demobrowser.Customer{}, err
	}
	return demobrowser.Customer{Invite: invite, Photos: photos, Frozen: f.frozen, NoCode: f.noCode, Letter: letter, Wait: f.wait,
		Step: step, Screenshots: f.screenshots,
		Code: func(ctx context.Context, ask func() error) (string, error) {
			before, err := c.seen(ctx, acct.email)
			if err != nil {
				return "", err
			}
			if err := ask(); err != nil {
				return "", err
			}
			return c.waitMail(ctx, acct.email, "email code", 60*time.Second, emailCode(before))
		}}, nil
}

// demoAccountByMask finds the demo account a case view's masked number names.
func demoAccountByMask(masked string) (int, bool) {
	i := slices.IndexFunc(demoAccounts, func(a demoAccount) bool { return models.MaskAccountNo(models.AccountNo(a.no)) == masked })
	return i, i >= 0
}

// demoAccountByEmail finds the demo account of a registered address.
func demoAccountByEmail(addr string) (int, bool) {
	i := slices.IndexFunc(demoAccounts, func(a demoAccount) bool { return strings.EqualFold(a.email, addr) })
	return i, i >= 0
}

// stepPrinter prints one line per step with the time of day and the time
// since start.
func stepPrinter(w io.Writer, start time.Time) func(who, msg string) {
	return func(who, msg string) {
		now := time.Now()
		fmt.Fprintf(w, "%s  +%-6s %-10s %s\n", now.Format("15:04:05"), now.Sub(start).Round(time.Second), who, msg)
	}
}

const demoCustomerUsage = `usage: idv demo customer (--invite URL | --case ID) [--url BASE] [--wrong-person] [--frozen] [--no-code] [-- config flags]`

// runDemoCustomer joins a call as a demo account holder (the synthetic customer).
func runDemoCustomer(ctx context.Context, e *cliEnv, args []string) error {
	fs := subFlags("demo customer", e)
	fs.Usage = func() { fmt.Fprintln(e.stderr, demoCustomerUsage); fs.PrintDefaults() }
	invite := fs.String("invite", "", "the invite link (from the demo mailbox)")
	caseID := fs.String("case", "", "the case: a demo clerk emails a fresh invite and the customer opens it (demo mode)")
	base := fs.String("url", "", "the server (default the configured public URL)")
	pwFile := fs.String("passwords", "", "demo logins, one 'user password' a line (default <data-dir>/demo/passwords.txt); --case logs in as the case's demo clerk")
	var f customerFlags
	fs.BoolVar(&f.wrongPerson, "wrong-person", false, "show another demo account holder to the camera: the face match fails")
	fs.BoolVar(&f.frozen, "frozen", false, "show one still photo whatever the liveness prompt asks: the liveness challenge fails")
	fs.BoolVar(&f.noCode, "no-code", false, "never enter the email code: the case cannot be submitted (email code missing)")
	fs.DurationVar(&f.wait, "wait", 15*time.Minute, "how long to wait for the clerk to join, and then for the call to end")
	fs.StringVar(&f.screenshots, "screenshots", "", "folder for PNGs of the customer's pages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*invite == "") == (*caseID == "") {
		return usageError(demoCustomerUsage)
	}
	cfg, _, err := loadConfig("demo customer", fs.Args(), e.getenv, e.stderr)
	if err != nil {
		return err
	}
	if *base == "" {
		*base = cfg.PublicURL
	}
	if *pwFile == "" {
		*pwFile = filepath.Join(cfg.DataDir, "demo", "passwords.txt")
	}
	print := stepPrinter(e.stdout, time.Now())
	c := newDemoClient(*base)
	if _, err := c.mailbox(ctx, "nobody@example.invalid"); err != nil {
		return fmt.Errorf("demo customer: %s: %w", *base, err)
	}
	i := -1
	link := *invite
	if *caseID != "" {
		if i, link, err = inviteForCase(ctx, c, *pwFile, models.CaseID(*caseID), print); err != nil {
			return fmt.Errorf("demo customer: %w", err)
		}
	} else {
		msgs, err := c.mailbox(ctx, "")
		if err != nil {
			return fmt.Errorf("demo customer: %w", err)
		}
		for _, m := range msgs {
			if slices.Contains(m.Links, link) && len(m.To) > 0 {
				i, _ = demoAccountByEmail(m.To[0])
				break
			}
		}
		if i < 0 {
			return fmt.Errorf("demo customer: the invite link is not in the demo mailbox, so whose account it is for is unknown")
		}
	}
	print("customer", fmt.Sprintf("%s (account %s) joins as the synthetic customer", demoAccounts[i].name, models.MaskAccountNo(models.AccountNo(demoAccounts[i].no))))
	b, err := demobrowser.Start(ctx, demobrowser.Options{})
	if err != nil {
		return fmt.Errorf("demo customer: %w", err)
	}
	defer b.Close()
	cust, err := demoCustomer(c, i, link, f, func(s string) { print("customer", s) })
	if err != nil {
		return fmt.Errorf("demo customer: %w", err)
	}
	if err := b.Customer(ctx, cust); err != nil {
		return fmt.Errorf("demo customer: %w", err)
	}
	return nil
}

// inviteForCase logs in as the case's demo clerk, emails a fresh invite
// and reads its link from the demo mailbox.
func inviteForCase(ctx context.Context, c *demoClient, pwFile string, id models.CaseID, print func(who, msg string)) (int, string, error) {
	pw, err := readDemoPasswords(pwFile)
	if err != nil {
		return -1, "", err
	}
	for _, s := range demoStaff {
		if !slices.Contains(s.roles, models.RoleClerk) || pw[s.user] == "" {
			continue
		}
		clerk := newDemoClient(c.base)
		if err := clerk.login(ctx, s.user, pw[s.user]); err != nil {
			return -1, "", err
		}
		var cs struct {
			AccountNo string `json:"account_no"`
		}
		if err := clerk.call(ctx, "GET", "/api/cases/"+string(id), nil, &cs); err != nil {
			continue // another clerk's case
		}
		i, ok := demoAccountByMask(cs.AccountNo)
		if !ok {
			return -1, "", fmt.Errorf("case %s is not for a demo account", id)
		}
		before, err := c.seen(ctx, demoAccounts[i].email)
		if err != nil {
			return -1, "", err
		}
		if err := clerk.call(ctx, "POST", "/api/cases/"+string(id)+"/invite/email", nil, nil); err != nil {
			return -1, "", err
		}
		print(s.user, "emailed a fresh invite for case "+string(id))
		link, err := c.waitMail(ctx, demoAccounts[i].email, "invite", 90*time.Second, inviteLink(before))
		return i, link, err
	}
	return -1, "", fmt.Errorf("case %s is no demo clerk's case", id)
}

// readDemoPasswords reads the demo logins (user password, a line).
func readDemoPasswords(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("demo logins (idv demo load writes them; --passwords): %w", err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if user, pw, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			out[user] = pw
		}
	}
	return out, nil
}
