package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"remoteidv/models"
)

// ManifestVersion is the format version written into every manifest.
const ManifestVersion = 1

// Manifest lists every artifact of a sealed case. Its exact bytes (as
// EncodeManifest writes them) are signed with the service's Ed25519 key and
// their SHA-256 is recorded in the audit chain's case.seal event.
type Manifest struct {
	Version   int            `json:"version"`
	Case      CaseSummary    `json:"case"`
	Items     []ManifestItem `json:"items"`
	AuditHead ManifestHead   `json:"audit_head"` // the chain head when the manifest was made
	SealedAt  time.Time      `json:"sealed_at"`
	SealedBy  string         `json:"sealed_by"` // audit actor
	KeyID     string         `json:"key_id"`    // of the signing key
}

// CaseSummary is what the manifest says about the case itself.
type CaseSummary struct {
	ID         models.CaseID    `json:"id"`
	AccountNo  string           `json:"account_no"` // masked
	Purpose    models.Purpose   `json:"purpose"`
	PeriodFrom string           `json:"period_from"`
	PeriodTo   string           `json:"period_to"`
	State      models.CaseState `json:"state"` // at sealing: approved
	ClerkID    models.StaffID   `json:"clerk_id"`
	CreatedAt  time.Time        `json:"created_at"`
}

// ManifestItem is one archived artifact.
type ManifestItem struct {
	ID          models.EvidenceID   `json:"id"`
	Key         string              `json:"key"`
	VersionID   string              `json:"version_id"`
	Size        int64               `json:"size"`
	SHA256      string              `json:"sha256"`
	Kind        models.EvidenceKind `json:"kind"`
	ContentType string              `json:"content_type"`
	Actor       string              `json:"actor"`
	CreatedAt   time.Time           `json:"created_at"`
	ArchivedAt  time.Time           `json:"archived_at"`
	RetainUntil *time.Time          `json:"retain_until,omitempty"`
}

// ManifestHead is an audit chain position.
type ManifestHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// NewManifest lists items (every evidence row of c) for sealing. It
// refuses (EPRECONDITION, naming each) items not yet archived and skips
// earlier manifests.
func NewManifest(c *models.Case, items []*models.Evidence, head models.AuditHead, sealedBy string, at time.Time, keyID string) (*Manifest, error) {
	m := &Manifest{Version: ManifestVersion, AuditHead: ManifestHead{Seq: head.Seq, Hash: head.Hash},
		SealedAt: at.UTC().Truncate(time.Microsecond), SealedBy: sealedBy, KeyID: keyID, Items: []ManifestItem{},
		Case: CaseSummary{ID: c.ID, AccountNo: models.MaskAccountNo(c.AccountNo), Purpose: c.Purpose, PeriodFrom: c.PeriodFrom,
			PeriodTo: c.PeriodTo, State: c.State, ClerkID: c.ClerkID, CreatedAt: c.CreatedAt.UTC()}}
	var pending []string
	for _, e := range items {
		if e.Kind == models.EvidenceManifest {
			continue
		}
		if e.ArchivedAt == nil {
			pending = append(pending, e.Key)
			continue
		}
		m.Items = append(m.Items, ManifestItem{ID: e.ID, Key: e.Key, VersionID: e.VersionID, Size: e.Size, SHA256: e.SHA256,
			Kind: e.Kind, ContentType: e.ContentType, Actor: e.Actor, CreatedAt: e.CreatedAt.UTC(), ArchivedAt: e.ArchivedAt.UTC(),
			RetainUntil: utcPtr(e.RetainUntil)})
	}
	if len(pending) > 0 {
		return nil, &models.Error{Code: models.EPRECONDITION, Message: fmt.Sprintf("case %s has %d evidence items not yet archived", c.ID, len(pending)), Details: pending}
	}
	return m, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// EncodeManifest returns the bytes that are signed, stored and hashed:
// indented JSON, readable by people.
func EncodeManifest(m *Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest of %s: %w", m.Case.ID, err)
	}
	return append(b, '\n'), nil
}

// manifestMessage separates manifest signatures from checkpoint ones.
func manifestMessage(b []byte) []byte {
	return append([]byte("remoteidv case manifest v1\n"), b...)
}

// SignManifest signs the encoded manifest b.
func SignManifest(key ed25519.PrivateKey, b []byte) []byte {
	return ed25519.Sign(key, manifestMessage(b))
}

// SHA256Hex returns the hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// VerifyManifest checks sig over b with pub, then decodes b strictly. It
// does not look at the artifacts: the caller must still compare each
// item with what the store (or the bundle) holds, e.g. with CheckObject.
func VerifyManifest(pub ed25519.PublicKey, b, sig []byte) (*Manifest, error) {
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, manifestMessage(b), sig) {
		return nil, models.Errorf(models.ECONFLICT, "manifest signature does not verify with key %s", keyIDOf(pub))
	}
	m, err := DecodeManifest(b)
	if err != nil {
		return nil, err
	}
	if m.KeyID != KeyID(pub) {
		return nil, models.Errorf(models.ECONFLICT, "manifest names key %s, verified with %s", m.KeyID, KeyID(pub))
	}
	return m, nil
}

func keyIDOf(pub ed25519.PublicKey) string {
	if len(pub) != ed25519.PublicKeySize {
		return "(invalid key)"
	}
	return KeyID(pub)
}

// DecodeManifest parses b without checking any signature.
func DecodeManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, models.Errorf(models.EINVALID, "manifest is not valid JSON: %v", err)
	}
	if m.Version != ManifestVersion {
		return nil, models.Errorf(models.EINVALID, "manifest version %d, want %d", m.Version, ManifestVersion)
	}
	for _, it := range m.Items {
		want, err := models.EvidenceKey(m.Case.ID, it.Kind, it.SHA256)
		if err != nil || want != it.Key {
			return nil, models.Errorf(models.EINVALID, "manifest item %s: key does not match its case, kind and SHA-256", it.Key)
		}
	}
	return &m, nil
}

// CheckObject compares what a store reports for a manifest item: size,
// SHA-256, version (when the manifest has one) and, when the store reports
// a retention mode, COMPLIANCE until at least the manifest's date. The
// error (ECONFLICT) names the item and the difference.
func CheckObject(it ManifestItem, info models.ObjectInfo) error {
	switch {
	case info.Size != it.Size:
		return models.Errorf(models.ECONFLICT, "%s: stored size %d, manifest says %d", it.Key, info.Size, it.Size)
	case info.SHA256 != it.SHA256:
		return models.Errorf(models.ECONFLICT, "%s: stored SHA-256 %s, manifest says %s", it.Key, info.SHA256, it.SHA256)
	case it.VersionID != "" && info.VersionID != it.VersionID:
		return models.Errorf(models.ECONFLICT, "%s: stored version %s, manifest says %s", it.Key, info.VersionID, it.VersionID)
	case info.Mode != models.RetentionNone && info.Mode != models.RetentionCompliance:
		return models.Errorf(models.ECONFLICT, "%s: retention %s, want COMPLIANCE", it.Key, info.Mode)
	case info.Mode == models.RetentionCompliance && it.RetainUntil != nil && info.RetainUntil.Before(it.RetainUntil.Truncate(time.Second)):
		return models.Errorf(models.ECONFLICT, "%s: retained until %s, manifest says %s", it.Key, info.RetainUntil, it.RetainUntil)
	}
	return nil
}
