package image

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progress reports per-layer progress of a pull: mpb bars on a terminal, otherwise one line per
// layer when it is done, so concurrent layers don't interleave half lines.
type progress struct {
	w  io.Writer
	mu sync.Mutex
	p  *mpb.Progress // nil unless on a terminal
}

func newProgress(w io.Writer, terminal bool) *progress {
	pr := &progress{w: w}
	if w != nil && terminal {
		pr.p = mpb.New(mpb.WithOutput(w), mpb.WithWidth(40))
	}
	return pr
}

// wait flushes the bars; every layer must have been finished or failed.
func (pr *progress) wait() {
	if pr.p != nil {
		pr.p.Wait()
	}
}

func (pr *progress) line(format string, args ...any) {
	if pr.w == nil || pr.p != nil {
		return
	}
	pr.mu.Lock()
	defer pr.mu.Unlock()
	fmt.Fprintf(pr.w, format, args...)
}

// layerProgress tracks one layer.
type layerProgress struct {
	pr     *progress
	id     string
	bar    *mpb.Bar
	mu     sync.Mutex
	status string
}

func (pr *progress) layer(digest string, size int64) *layerProgress {
	lp := &layerProgress{pr: pr, id: shortID(digest), status: "waiting"}
	if pr.p == nil {
		return lp
	}
	lp.bar = pr.p.AddBar(0,
		mpb.PrependDecorators(decor.Name(lp.id, decor.WCSyncSpaceR),
			decor.Any(func(decor.Statistics) string { return lp.getStatus() }, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f")))
	// Set the total after construction so that reaching it does not complete the bar: the layer
	// still has to be extracted.
	lp.bar.SetTotal(size, false)
	return lp
}

func (lp *layerProgress) getStatus() string {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.status
}

func (lp *layerProgress) setStatus(s string) {
	lp.mu.Lock()
	lp.status = s
	lp.mu.Unlock()
}

// reader wraps the download stream of the layer; it stops with ctx.
func (lp *layerProgress) reader(ctx context.Context, r io.Reader) io.Reader {
	lp.setStatus("downloading")
	r = ctxReader{ctx: ctx, r: r}
	if lp.bar != nil {
		return lp.bar.ProxyReader(r)
	}
	return r
}

func (lp *layerProgress) extracting() { lp.setStatus("extracting") }

// done marks the layer finished with a final status ("done", "already exists").
func (lp *layerProgress) done(status string) {
	lp.setStatus(status)
	if lp.bar != nil {
		lp.bar.SetTotal(-1, true)
		return
	}
	lp.pr.line("Pulling %s... %s\n", lp.id, status)
}

func (lp *layerProgress) fail(err error) {
	lp.setStatus("error")
	if lp.bar != nil {
		lp.bar.Abort(false)
		return
	}
	lp.pr.line("Pulling %s... error: %v\n", lp.id, err)
}

// ctxReader fails reads once ctx is done, so a failed layer stops its siblings' downloads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
