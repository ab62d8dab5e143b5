package httpapi_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"remoteidv/internal/testenv"
	"remoteidv/models"
	"remoteidv/verify/face"
)

func pngFixture(t testing.TB) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 32, 32))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

var (
	engineOnce sync.Once
	engine     *face.Engine
	engineErr  error
)

// faceEngine is one face engine (real dlib models from IDV_MODELS_DIR or
// the repository's var/models) for the package's tests.
func faceEngine(t testing.TB) *face.Engine {
	t.Helper()
	engineOnce.Do(func() {
		dir := os.Getenv("IDV_MODELS_DIR")
		if dir == "" {
			dir = "../var/models"
		}
		engine, engineErr = face.New(context.Background(), face.Config{ModelsDir: dir, Recognizers: 1, Logger: slog.New(slog.DiscardHandler)})
	})
	if engineErr != nil {
		t.Fatalf("face engine: %v (run `go run ./cmd/idv models fetch`)", engineErr)
	}
	return engine
}

func readPhoto(t testing.TB, person string, i int) []byte {
	t.Helper()
	b, err := os.ReadFile(testenv.JohnsPhoto(t, person, i))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withFaces adds two of John Salley's photos to Li Wei's reference photos
// (his face stands for hers); e's server runs the face engine
// (envOptions.faces).
func (e *env) withFaces(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	rep, err := e.g.Accounts.Import(ctx, "system", strings.NewReader("account_no,holder_name,national_id,email,phone,time_zone,language,photos,signature\n"+
		"6222000011112222,Li Wei,110101199003071234,li.wei@example.com,+1 212 555 0100,America/New_York,zh-CN,a.jpg;b.jpg,s.png\n"),
		fstest.MapFS{"a.jpg": {Data: readPhoto(t, "John_Salley", 0)}, "b.jpg": {Data: readPhoto(t, "John_Salley", 1)}, "s.png": {Data: pngFixture(t)}}, nil)
	if err != nil || rep.Imported != 1 {
		t.Fatalf("import: %+v %v", rep, err)
	}
}

// clerkActor is the audit actor of case id's clerk.
func (e *env) clerkActor(t testing.TB, id string) string {
	t.Helper()
	var c *models.Case
	if err := e.store.Transact(context.Background(), func(tx models.Tx) (err error) { c, err = tx.CaseByID(context.Background(), models.CaseID(id)); return }); err != nil {
		t.Fatal(err)
	}
	return "staff:" + string(c.ClerkID)
}
