package signaling

import (
	"time"

	"github.com/pion/rtp"
	"golang.org/x/image/vp8"

	"remoteidv/models"
	"remoteidv/storage/encfile"
)

// DecodeKeyFrame exposes the key-frame decoder to the tests.
func DecodeKeyFrame(data []byte) ([]byte, error) { return decodeKeyFrame(vp8.NewDecoder(), data) }

// AllowedPeer exposes the TURN relay-destination filter to the tests.
var AllowedPeer = allowedPeer

// AbandonRecording records pkts into a new file in dir as a call's
// recorder of seg does (encrypted with key, flushed by now), calling tick
// before each packet, then stops without closing the recorder, as a killed
// process does. It returns the recording's size after each packet.
func AbandonRecording(dir string, key *encfile.Key, now func() time.Time, c models.CaseID, seg *models.CallSegment, pkts []*rtp.Packet, tick func()) ([]int64, error) {
	r, err := newRecorder(dir, key, now, c, seg)
	if err != nil {
		return nil, err
	}
	defer r.f.Close() // the file only: its contents are what a crash leaves
	sizes := make([]int64, 0, len(pkts))
	for _, p := range pkts {
		tick()
		if err := r.write(p); err != nil {
			return nil, err
		}
		sizes = append(sizes, int64(r.n))
	}
	return sizes, nil
}
