package signaling

import "golang.org/x/image/vp8"

// DecodeKeyFrame exposes the key-frame decoder to the tests.
func DecodeKeyFrame(data []byte) ([]byte, error) { return decodeKeyFrame(vp8.NewDecoder(), data) }

// AllowedPeer exposes the TURN relay-destination filter to the tests.
var AllowedPeer = allowedPeer
