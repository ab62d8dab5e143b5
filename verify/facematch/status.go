package facematch

import "fmt"

// Status is the outcome of checking one image. Every rejection has its
// own value; StatusOK is the only one that carries a descriptor.
type Status int

// Status values, in the order the gates run.
const (
	StatusOK                Status = iota
	StatusTooLarge                 // more bytes than Limits.MaxBytes
	StatusNotAnImage               // header cannot be parsed or the image cannot be decoded
	StatusTooManyPixels            // width x height over Limits.MaxPixels (decompression bombs)
	StatusUnsupportedFormat        // decodable, but neither JPEG nor PNG
	StatusTooDark                  // mean luminance under Limits.MinLuminance
	StatusTooBlurry                // variance of the Laplacian under Limits.MinSharpness
	StatusNoFace                   // the detector found no face
	StatusMultipleFaces            // the detector found more than one face
	StatusFaceTooSmall             // the face box's shorter side is under Limits.MinFaceSide
)

var statusNames = [...]string{
	StatusOK:                "OK",
	StatusTooLarge:          "TOO_LARGE",
	StatusNotAnImage:        "NOT_AN_IMAGE",
	StatusTooManyPixels:     "TOO_MANY_PIXELS",
	StatusUnsupportedFormat: "UNSUPPORTED_FORMAT",
	StatusTooDark:           "TOO_DARK",
	StatusTooBlurry:         "TOO_BLURRY",
	StatusNoFace:            "NO_FACE",
	StatusMultipleFaces:     "MULTIPLE_FACES",
	StatusFaceTooSmall:      "FACE_TOO_SMALL",
}

// String returns the status in upper snake case, e.g. "NO_FACE".
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// MarshalText encodes the status as its String form.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the String form of a status.
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if n == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("unknown face status %q", b)
}

// RejectedError is returned by the engine's Enroll when the photo cannot give a
// descriptor (no single usable face, bad image). Status says why and Detail
// carries the measured value, for the admin who imports reference photos.
type RejectedError struct {
	Status Status
	Detail string
}

func (e *RejectedError) Error() string {
	if e.Detail == "" {
		return "face image rejected: " + e.Status.String()
	}
	return "face image rejected: " + e.Status.String() + ": " + e.Detail
}
