package main

import (
	"archive/zip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"remoteidv/audit"
	"remoteidv/models"
	"remoteidv/storage/archiver"
	"remoteidv/storage/encfile"
	"remoteidv/storage/localfs"
	"remoteidv/storage/s3"
)

// evidenceUsage says how to call `idv evidence verify`.
const evidenceUsage = "usage: idv evidence verify (-key bank-public-key.pem | -fingerprint SHA256-OF-THE-BANK-KEY) bundle.zip"

// errNoTrustedKey explains why a bundle is not checked without a key.
const errNoTrustedKey = `evidence verify: a trusted key is required: pass -key with the bank's public key (PEM) or -fingerprint with its SHA-256 fingerprint (64 hex digits).
A bundle carries its own key, and anyone can make a bundle that is consistent with its own key: only the bank's key proves the bank made it.
The bank publishes the fingerprint; its staff see it on the auditor's page (/audit) and with "idv audit key".`

// runEvidence is `idv evidence verify -key PEM|-fingerprint FP bundle.zip`:
// the offline check an auditor runs. It needs no configuration, database
// or network, but a key the auditor trusts.
func runEvidence(_ context.Context, e *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError(evidenceUsage)
	}
	fs := subFlags("evidence verify", e)
	keyPath := fs.String("key", "", "the bank's published public key (PEM)")
	fpFlag := fs.String("fingerprint", "", "the SHA-256 fingerprint of the bank's public key (64 hex digits), as the bank publishes it")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError(evidenceUsage)
	}
	if *keyPath == "" && *fpFlag == "" {
		return usageError(errNoTrustedKey)
	}
	var trusted ed25519.PublicKey
	if *keyPath != "" {
		b, err := os.ReadFile(*keyPath)
		if err != nil {
			return fmt.Errorf("evidence verify: %w", err)
		}
		if trusted, err = audit.ParsePublicKey(b); err != nil {
			return fmt.Errorf("evidence verify: %s: %w", *keyPath, err)
		}
	}
	zr, err := zip.OpenReader(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("evidence verify: %w", err)
	}
	defer zr.Close()
	if *fpFlag != "" {
		want, err := audit.ParseFingerprint(*fpFlag)
		if err != nil {
			return fmt.Errorf("evidence verify: %w", err)
		}
		switch {
		case trusted != nil && audit.Fingerprint(trusted) != want:
			return fmt.Errorf("evidence verify: the key in %s has fingerprint %s, not %s", *keyPath, audit.Fingerprint(trusted), want)
		case trusted == nil:
			// The bundled key is trusted once its fingerprint is the bank's.
			b, err := iofs.ReadFile(zr, audit.BundlePublicKey)
			if err != nil {
				return fmt.Errorf("evidence verify: %s: %w", audit.BundlePublicKey, err)
			}
			pub, err := audit.ParsePublicKey(b)
			if err != nil {
				return fmt.Errorf("evidence verify: %s: %w", audit.BundlePublicKey, err)
			}
			if got := audit.Fingerprint(pub); got != want {
				fmt.Fprintf(e.stdout, "PROBLEM  %s: key fingerprint %s is not the trusted %s (bundle signed with another key)\n", audit.BundlePublicKey, got, want)
				return fmt.Errorf("evidence verify: the bundle is not signed with the trusted key")
			}
			trusted = pub
		}
	}
	rep := audit.VerifyBundle(zr, trusted)
	fmt.Fprintf(e.stdout, "bundle %s: case %s, key fingerprint %s, %d events of the case, %d log leaves\n", fs.Arg(0), rep.Case, rep.Fingerprint, rep.Events, rep.Leaves)
	bad := 0
	for _, it := range rep.Items {
		if it.OK {
			fmt.Fprintf(e.stdout, "OK       %-10s %10d  %s\n", it.Kind, it.Size, it.Key)
		} else {
			bad++
			fmt.Fprintf(e.stdout, "MISMATCH %-10s %10d  %s: %s\n", it.Kind, it.Size, it.Key, it.Problem)
		}
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(e.stdout, "PROBLEM  %s\n", p)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(e.stdout, "WARNING  %s\n", w)
	}
	if !rep.OK() {
		return fmt.Errorf("evidence verify: %d items mismatched, %d other problems", bad, len(rep.Problems))
	}
	if !rep.Proven() {
		return fmt.Errorf("evidence verify: nothing is wrong, but %d things are not proven (see WARNING)", len(rep.Warnings))
	}
	fmt.Fprintf(e.stdout, "the %d leaves (seq 1 to the seal event) are a prefix of the audit merkle log of the checkpoint signed by the trusted key: size %d, root %s\n", rep.Leaves, rep.LogSize, rep.LogRoot)
	fmt.Fprintf(e.stdout, "verified: %d items, manifest signature, %d events of the case (each a leaf of that log, none left out), seal event %d, %d checkpoints\n",
		len(rep.Items), rep.Events, rep.SealSeq, rep.Checkpoints)
	return nil
}

// openEvidenceStore returns the configured store: S3 when IDV_S3_ENDPOINT
// is set (refusing a bucket without COMPLIANCE Object Lock unless
// IDV_S3_ALLOW_UNLOCKED), else the local folder IDV_EVIDENCE_DIR.
func openEvidenceStore(ctx context.Context, cfg Config, log *slog.Logger) (models.EvidenceStore, string, error) {
	retention := time.Duration(cfg.S3.RetentionDays) * 24 * time.Hour
	if cfg.S3.Endpoint == "" {
		st, err := localfs.New(localfs.Config{Root: cfg.EvidenceDir, Retention: retention}, log)
		if err != nil {
			return nil, "", fmt.Errorf("evidence store: %w", err)
		}
		return crasherOf(ctx).evidence(st), "local folder " + st.Root(), nil // a test hook; see crash.go
	}
	sc := s3.Config{Endpoint: cfg.S3.Endpoint, Bucket: cfg.S3.Bucket, AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey,
		UseTLS: cfg.S3.TLS, Region: cfg.S3.Region, RetentionPeriod: retention, AllowUnlocked: cfg.S3.AllowUnlocked, SSE: s3.SSE(cfg.S3.SSE), KMSKey: cfg.S3.KMSKey}
	st, err := s3.New(ctx, sc, log)
	if err != nil {
		return nil, "", fmt.Errorf("evidence store: %w", err)
	}
	return crasherOf(ctx).evidence(st), sc.String(), nil
}

// openArchiver makes the outbox worker that moves staged evidence into
// store (named name in the log), which the caller runs as a job.
func (a *app) openArchiver(store models.EvidenceStore, name, owner string) (*archiver.Archiver, error) {
	arc, err := archiver.New(a.store, store, archiver.Config{Owner: owner, Now: time.Now, Rand: rand.Reader, Lease: a.cfg.ArchiveLease, Key: a.staging}, a.log)
	if err != nil {
		return nil, err
	}
	a.log.Info("evidence archiver started", "store", name, "owner", arc.Owner())
	return arc, nil
}

// stagingDir is where evidence waits for the archiver: IDV_STAGING_DIR,
// else <data-dir>/staging.
func stagingDir(cfg Config) string {
	if cfg.StagingDir != "" {
		return cfg.StagingDir
	}
	return filepath.Join(cfg.DataDir, "staging")
}

// stagingKeyPath is the staging key file: IDV_STAGING_KEY_FILE, else
// <data-dir>/keys/staging-aes256.key.
func stagingKeyPath(cfg Config) string {
	if cfg.StagingKey != "" {
		return cfg.StagingKey
	}
	return filepath.Join(cfg.DataDir, "keys", "staging-aes256.key")
}

// loadStagingKey reads the key that encrypts the staging folder, creating
// it on first start. It refuses to create one while the folder holds files
// encrypted with a key that is gone (a lost or moved key file): a new key
// could not read them, and the operator must restore the old one.
func loadStagingKey(cfg Config, log *slog.Logger) (*encfile.Key, error) {
	path := stagingKeyPath(cfg)
	k, created, err := encfile.LoadOrCreateKey(path, rand.Reader, func() error {
		st, err := archiver.NewStager(stagingDir(cfg), time.Now, rand.Reader)
		if err != nil {
			return err
		}
		foreign, err := st.ForeignFiles()
		if err != nil {
			return err
		}
		if len(foreign) > 0 {
			return models.Errorf(models.EPRECONDITION, "the key file is missing but %d staged evidence files (e.g. %s) are encrypted: restore the key file they were written with (IDV_STAGING_KEY_FILE); nothing was changed", len(foreign), foreign[0])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("created the staging encryption key", "path", path, "key", k)
	}
	return k, nil
}
