package models

import (
	"regexp"
	"strings"
)

// maxEvidenceKeyLen bounds a key; S3 allows 1024 bytes.
const maxEvidenceKeyLen = 1024

var checkpointKeyPart = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// CheckEvidenceKey accepts the two key shapes the service writes:
// cases/<case>/<kind>/<sha256> (whose last part must be sum when sum is not
// empty) and checkpoints/<part>[/<part>...]. Anything else, and in particular
// anything that could climb out of the root, is EINVALID.
func CheckEvidenceKey(key, sum string) error {
	if len(key) == 0 || len(key) > maxEvidenceKeyLen {
		return Errorf(EINVALID, "bad evidence key %q", key)
	}
	parts := strings.Split(key, "/")
	switch parts[0] {
	case "cases":
		if len(parts) != 4 {
			break
		}
		want, err := EvidenceKey(CaseID(parts[1]), EvidenceKind(parts[2]), parts[3])
		if err != nil || want != key {
			break
		}
		if sum != "" && parts[3] != sum {
			return Errorf(EINVALID, "evidence key %q does not name sha256 %s", key, sum)
		}
		return nil
	case "checkpoints":
		if len(parts) < 2 || len(parts) > 8 {
			break
		}
		for _, p := range parts[1:] {
			if !checkpointKeyPart.MatchString(p) || p == "." || p == ".." {
				return Errorf(EINVALID, "bad evidence key %q", key)
			}
		}
		return nil
	}
	return Errorf(EINVALID, "bad evidence key %q", key)
}

// CheckEvidenceFolder validates the folder of EvidenceStore.List: the
// parts of a key before its last one, ending in "/" (for example
// "checkpoints/audit/" or "cases/<case>/<kind>/").
func CheckEvidenceFolder(folder string) error {
	if !strings.HasSuffix(folder, "/") {
		return Errorf(EINVALID, "bad evidence folder %q", folder)
	}
	probe := folder + "x"
	if strings.HasPrefix(folder, "cases/") {
		probe = folder + strings.Repeat("0", 64)
	}
	if err := CheckEvidenceKey(probe, ""); err != nil {
		return Errorf(EINVALID, "bad evidence folder %q", folder)
	}
	return nil
}

// CheckEvidencePut validates the arguments of EvidenceStore.Put: a
// lower-case hex SHA-256, a key that names it, and a size that is not
// negative. Both stores call it, so they refuse exactly the same input.
func CheckEvidencePut(key string, size int64, sum string) error {
	if !ValidSHA256(sum) {
		return Errorf(EINVALID, "bad sha256 %q", sum)
	}
	if err := CheckEvidenceKey(key, sum); err != nil {
		return err
	}
	if size < 0 {
		return Errorf(EINVALID, "negative size %d", size)
	}
	return nil
}
