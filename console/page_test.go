package console

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// pageWatch collects what a page reports going wrong while a browser test
// drives it: console errors and warnings, uncaught exceptions and, when the
// log domain is on, the browser's error and warning log entries other than
// refused /v1/ API calls (refusals are part of the tests).
type pageWatch struct {
	mu       sync.Mutex
	problems []string
}

// watchPage starts collecting on ctx's page; logs turns the browser's log
// domain on too (a missing asset, a CSP violation).
func watchPage(t *testing.T, ctx context.Context, logs bool) *pageWatch {
	t.Helper()
	w := &pageWatch{}
	if err := chromedp.Listen(ctx, w.listen); err != nil {
		t.Fatal(err)
	}
	if logs {
		if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *pageWatch) listen(ev any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			w.problems = append(w.problems, string(e.Type)+": "+strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		w.problems = append(w.problems, "exception: "+msg+" at "+d.URL+":"+strconv.FormatInt(d.LineNumber, 10))
	case *cdplog.EventEntryAdded:
		if e.Entry.Source == cdplog.EntrySourceNetwork && strings.Contains(e.Entry.URL, "/v1/") {
			return
		}
		if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
			w.problems = append(w.problems, "log: "+e.Entry.Text+" "+e.Entry.URL)
		}
	}
}

// seen is what the page has reported so far.
func (w *pageWatch) seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.problems...)
}

// step runs actions on ctx within 15 s; on failure it stops the test with
// what the page reported.
func (w *pageWatch) step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v (page: %v)", what, err, w.seen())
	}
}

// check fails the test for every problem the page reported.
func (w *pageWatch) check(t *testing.T) {
	t.Helper()
	for _, p := range w.seen() {
		t.Errorf("browser: %s", p)
	}
}
