package signaling_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"remoteidv/internal/testenv"
	"remoteidv/signaling"
)

// forwardPlan tells the peer process of BenchmarkForward what to play.
type forwardPlan struct {
	// Relay: the customer's and the clerk's signaling sockets on the hub.
	Customer, Clerk string
	// Bare: the bare forwarder's signaling (POST an offer to Bare+"/send"
	// and Bare+"/recv", get the answer).
	Bare   string
	IVF    string
	Frames int
	FPS    int
}

const forwardPlanEnv = "IDV_FORWARD_PEERS"

// BenchmarkForward measures the CPU the server spends per forwarded video
// packet: customer -> server -> clerk through the hub's relay (with its
// recording, quality sampling and interceptors), against a bare pion
// forwarder (one peer connection in, one out, ReadRTP -> WriteRTP, pion's
// default interceptors) measured the same way in the same run. The two
// test peers run in a child process, so the CPU time of this process
// (getrusage, from the first paced frame to the last one received) is the
// forwarder's own: SRTP in and out, interceptors, the relay's bookkeeping
// and, for the relay, writing the recording. Frames (640 px VP8, several
// packets each) are paced at 150/s.
func BenchmarkForward(b *testing.B) {
	ivf := testenv.VP8FromPhoto(b, testenv.JohnsPhoto(b, "John_Salley", 3), 2, 640)
	b.Run("bare-pion", func(b *testing.B) {
		srv := bareForwarder(b)
		runForwardPeers(b, forwardPlan{Bare: srv.URL, IVF: ivf, Frames: b.N, FPS: 150})
	})
	b.Run("relay", func(b *testing.B) {
		f := newFixture(b, signaling.Config{})
		_, cu, cl, _ := f.newCall(0)
		runForwardPeers(b, forwardPlan{Customer: cu, Clerk: cl, IVF: ivf, Frames: b.N, FPS: 150})
	})
}

// runForwardPeers runs the peer process with plan and reports this
// process's CPU time per packet the receiver got.
func runForwardPeers(b *testing.B, plan forwardPlan) {
	b.Helper()
	js, _ := json.Marshal(plan)
	cmd := exec.Command(os.Args[0], "-test.run=^TestForwardPeers$", "-test.count=1")
	cmd.Env = append(os.Environ(), forwardPlanEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := cmd.Wait(); err != nil {
			b.Errorf("peer process: %v", err)
		}
	}()
	sc := bufio.NewScanner(out)
	var c0 time.Duration
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "START":
			b.ResetTimer()
			c0 = cpuTime()
		case strings.HasPrefix(line, "DONE "):
			cpu := cpuTime() - c0
			b.StopTimer()
			var got, want int64
			if _, err := fmt.Sscan(strings.TrimPrefix(line, "DONE "), &got, &want); err != nil || got == 0 {
				b.Fatalf("peer process: %q (%v): nothing received", line, err)
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(got)/1000, "cpu-us/pkt")
			b.ReportMetric(100*float64(want-got)/float64(want), "loss-%")
			b.ReportMetric(float64(got)/float64(plan.Frames), "pkts/frame")
			_, _ = io.Copy(io.Discard, out)
			return
		}
	}
	b.Fatalf("the peer process ended without a result (%v)", sc.Err())
}

// TestForwardPeers is the peer process of BenchmarkForward; it does
// nothing unless the benchmark starts it.
func TestForwardPeers(t *testing.T) {
	js := os.Getenv(forwardPlanEnv)
	if js == "" {
		t.Skip("the peer process of BenchmarkForward")
	}
	var plan forwardPlan
	if err := json.Unmarshal([]byte(js), &plan); err != nil {
		t.Fatal(err)
	}
	frames := readIVF(t, plan.IVF)
	var (
		track *webrtc.TrackLocalStaticSample
		rx    *seqRange
	)
	if plan.Bare != "" {
		defer http.DefaultClient.CloseIdleConnections()
		sender, recv := newBenchPC(t), newBenchPC(t)
		defer sender.Close()
		defer recv.Close()
		var err error
		if track, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "v", "s"); err != nil {
			t.Fatal(err)
		}
		if _, err := sender.AddTrack(track); err != nil {
			t.Fatal(err)
		}
		if _, err := recv.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
		rx = &seqRange{}
		recv.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				rx.add(p.SequenceNumber)
			}
		})
		benchOffer(t, recv, plan.Bare+"/recv")
		benchOffer(t, sender, plan.Bare+"/send")
	} else {
		customer := dial(t, plan.Customer, nil, source{manual: true})
		clerk := dial(t, plan.Clerk, nil, source{})
		defer customer.close("")
		defer clerk.close("")
		track = <-customer.manual
		<-customer.connected
		<-clerk.connected
		rx = &clerk.seq
	}
	pace(context.Background(), track, frames, 30, plan.FPS) // warm up: ICE, DTLS, the first key frame
	time.Sleep(time.Second)
	rx.reset()
	fmt.Println("START")
	pace(context.Background(), track, frames, plan.Frames, plan.FPS)
	time.Sleep(200 * time.Millisecond)
	got, want := rx.loss()
	fmt.Printf("DONE %d %d\n", got, want)
}

// newBenchPC is a pion peer connection with the default codecs and
// interceptors, loopback candidates included.
func newBenchPC(t testing.TB) *webrtc.PeerConnection {
	t.Helper()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// benchOffer sends pc's offer (candidates gathered) to url and applies the
// answer.
func benchOffer(t testing.TB, pc *webrtc.PeerConnection, url string) {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-done
	resp, err := http.Post(url, "application/sdp", strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %v %s", url, resp.StatusCode, err, answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
}

// bareForwarder is the baseline of BenchmarkForward: pion's peer
// connections with their default interceptors forwarding one video track
// from the sender to the receiver, nothing else.
func bareForwarder(b *testing.B) *httptest.Server {
	b.Helper()
	in, out := newBenchPC(b), newBenchPC(b)
	fwd, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "fwd", "s")
	if err != nil {
		b.Fatal(err)
	}
	in.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			_ = fwd.WriteRTP(p)
		}
	})
	answer := func(pc *webrtc.PeerConnection, recv bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			sdp, _ := io.ReadAll(r.Body)
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(sdp)}); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if recv {
				s, err := pc.AddTrack(fwd)
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				go func() {
					for {
						if _, _, err := s.ReadRTCP(); err != nil {
							return
						}
					}
				}()
			}
			ans, err := pc.CreateAnswer(nil)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			done := webrtc.GatheringCompletePromise(pc)
			if err := pc.SetLocalDescription(ans); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			<-done
			_, _ = io.WriteString(w, pc.LocalDescription().SDP)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("POST /send", answer(in, false))
	mux.Handle("POST /recv", answer(out, true))
	srv := httptest.NewServer(mux)
	b.Cleanup(func() {
		srv.Close()
		in.Close()
		out.Close()
	})
	return srv
}

// callsPlan tells the peer process of BenchmarkCallsPerNode what to play.
type callsPlan struct {
	// Calls are the customer's and the clerk's signaling sockets of each
	// call on the hub.
	Calls []struct{ Customer, Clerk string }
	// The customers send the key frames of IVF at FPS, and OGG's Opus.
	IVF     string
	OGG     string
	FPS     int
	Seconds int
}

const callsPlanEnv = "IDV_CALL_PEERS"

// BenchmarkCallsPerNode runs n recorded two-party calls at once through one
// hub (the customer sends about 1.5 Mbps of VP8 key frames plus Opus, the
// clerk receives; the server relays, samples quality and records both
// tracks) and reports the clerks' video loss and the server's own CPU per
// call (the peers run in a child process, as in BenchmarkForward). The
// 1-call run is the baseline: cpu-ms/call-s is the server's CPU
// milliseconds per second of one call, so its ratio to the 1-call run
// shows whether a call costs more when many share the node. The peers
// share the machine: their CPU (peer-cores) competes with the server's,
// so loss appears earlier here than on a server of its own.
func BenchmarkCallsPerNode(b *testing.B) {
	ivf := testenv.VP8FromPhoto(b, testenv.JohnsPhoto(b, "John_Salley", 3), 1, 640)
	keys := keyFrames(readIVF(b, ivf))
	size := 0
	for _, k := range keys {
		size += len(k)
	}
	fps := max(1, 1_500_000/8/(size/len(keys)))
	ogg := testenv.OpusTone(b, 2)
	for _, n := range []int{1, 2, 4, 8, 16, 32, 48, 64} {
		b.Run(fmt.Sprintf("calls=%d", n), func(b *testing.B) {
			// Every peer comes from 127.0.0.1: lift the cap on sockets per address.
			f := newFixture(b, signaling.Config{MaxSocketsPerAddr: 4 * n})
			plan := callsPlan{IVF: ivf, OGG: ogg, FPS: fps, Seconds: 4}
			for i := 0; i < n; i++ {
				_, cu, cl, _ := f.newCall(0)
				plan.Calls = append(plan.Calls, struct{ Customer, Clerk string }{cu, cl})
			}
			res := runCallPeers(b, plan)
			b.ReportMetric(res.lossPct, "loss-%")
			b.ReportMetric(res.serverCPU.Seconds()*1000/res.wall.Seconds()/float64(n), "cpu-ms/call-s")
			b.ReportMetric(res.serverCPU.Seconds()/res.wall.Seconds(), "server-cores")
			b.ReportMetric(res.peerCPU.Seconds()/res.wall.Seconds(), "peer-cores")
			b.ReportMetric(float64(res.serverCPU.Microseconds())/float64(res.got), "cpu-us/pkt")
			b.ReportMetric(float64(size/len(keys))*8*float64(fps)/1e6, "Mbps/call")
		})
	}
}

type callsResult struct {
	got, want       int64
	lossPct         float64
	serverCPU, wall time.Duration
	peerCPU         time.Duration
}

// runCallPeers runs the peer process with plan and measures this process's
// CPU and the wall time from the first paced frame to the last one.
func runCallPeers(b *testing.B, plan callsPlan) callsResult {
	b.Helper()
	js, _ := json.Marshal(plan)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCallPeers$", "-test.count=1")
	cmd.Env = append(os.Environ(), callsPlanEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := cmd.Wait(); err != nil {
			b.Errorf("peer process: %v", err)
		}
	}()
	sc := bufio.NewScanner(out)
	var (
		c0    time.Duration
		t0    time.Time
		other []string // the child's test output, shown if it fails
	)
	for sc.Scan() {
		line := sc.Text()
		switch {
		default:
			other = append(other, line)
		case line == "START":
			b.ResetTimer()
			c0, t0 = cpuTime(), time.Now()
		case strings.HasPrefix(line, "DONE "):
			res := callsResult{serverCPU: cpuTime() - c0, wall: time.Since(t0)}
			b.StopTimer()
			var peerNS int64
			if _, err := fmt.Sscan(strings.TrimPrefix(line, "DONE "), &res.got, &res.want, &peerNS); err != nil || res.got == 0 {
				b.Fatalf("peer process: %q (%v): nothing received", line, err)
			}
			res.peerCPU = time.Duration(peerNS)
			res.lossPct = 100 * float64(res.want-res.got) / float64(res.want)
			_, _ = io.Copy(io.Discard, out)
			return res
		}
	}
	b.Fatalf("the peer process ended without a result (%v):\n%s", sc.Err(), strings.Join(other, "\n"))
	return callsResult{}
}

// TestCallPeers is the peer process of BenchmarkCallsPerNode; it does
// nothing unless the benchmark starts it.
func TestCallPeers(t *testing.T) {
	js := os.Getenv(callsPlanEnv)
	if js == "" {
		t.Skip("the peer process of BenchmarkCallsPerNode")
	}
	var plan callsPlan
	if err := json.Unmarshal([]byte(js), &plan); err != nil {
		t.Fatal(err)
	}
	keys := keyFrames(readIVF(t, plan.IVF))
	type pair struct{ customer, clerk *testPeer }
	var pairs []pair
	for _, c := range plan.Calls {
		p := pair{dial(t, c.Customer, nil, source{manual: true, ogg: plan.OGG}), dial(t, c.Clerk, nil, source{})}
		pairs = append(pairs, p)
		defer p.clerk.close("")
		defer p.customer.close("")
	}
	var tracks []*webrtc.TrackLocalStaticSample
	for _, p := range pairs {
		tracks = append(tracks, <-p.customer.manual)
		<-p.customer.connected
		<-p.clerk.connected
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, tr := range tracks { // warm up: ICE, DTLS, the first frames
		wg.Go(func() { pace(ctx, tr, keys, plan.FPS, plan.FPS) })
	}
	wg.Wait()
	for _, p := range pairs {
		p.clerk.seq.reset()
	}
	c0 := cpuTime()
	fmt.Println("START")
	for _, tr := range tracks {
		wg.Go(func() { pace(ctx, tr, keys, plan.FPS*plan.Seconds, plan.FPS) })
	}
	wg.Wait()
	time.Sleep(300 * time.Millisecond)
	var got, want int64
	for _, p := range pairs {
		g, w := p.clerk.seq.loss()
		got, want = got+g, want+w
	}
	fmt.Printf("DONE %d %d %d\n", got, want, (cpuTime() - c0).Nanoseconds())
}

// keyFrames are the VP8 key frames among frames.
func keyFrames(frames [][]byte) [][]byte {
	var keys [][]byte
	for _, fr := range frames {
		if fr[0]&1 == 0 {
			keys = append(keys, fr)
		}
	}
	return keys
}
