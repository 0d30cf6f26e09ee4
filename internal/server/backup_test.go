package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/config"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// book is a small server to import into: its key, data source and plan.
type book struct {
	t        *testing.T
	srv      *httptest.Server
	key      string
	ds, plan string
}

func newBook(t *testing.T, s *store.Store) *book {
	t.Helper()
	b := &book{t: t, key: auth.NewKey()}
	if _, err := Bootstrap(context.Background(), s, b.key); err != nil {
		t.Fatal(err)
	}
	b.srv = httptest.NewServer(Handler(s, config.Config{MaxInFlight: 4, MaxBodyBytes: 1 << 20, MaxInvoices: 100, MaxEntries: 5000}, nil))
	t.Cleanup(b.srv.Close)
	b.ds = b.must("POST", "/v1/data_sources", `{"name":"Billing"}`, 201)["uuid"].(string)
	b.plan = b.must("POST", "/v1/plans", fmt.Sprintf(`{"data_source_uuid":%q,"name":"Pro","interval_count":1,"interval_unit":"month","external_id":"pro"}`, b.ds), 201)["uuid"].(string)
	return b
}

func (b *book) must(method, path, body string, want int) map[string]any {
	b.t.Helper()
	code, got := get(b.t, b.srv, method, path, b.key, body)
	if code != want {
		b.t.Fatalf("%s %s: %d %s", method, path, code, got)
	}
	var m map[string]any
	_ = json.Unmarshal([]byte(got), &m)
	return m
}

// customer imports customer i: its profile, then three months of a
// subscription whose price depends on i, in one request.
func (b *book) customer(i int) {
	ext := fmt.Sprintf("c%03d", i)
	uuid := b.must("POST", "/v1/customers", fmt.Sprintf(`{"data_source_uuid":%q,"external_id":%q,"name":"Customer %d","country":"US"}`, b.ds, ext, i), 201)["uuid"].(string)
	var invs []string
	for m := 1; m <= 3; m++ {
		invs = append(invs, fmt.Sprintf(`{"external_id":"%s-%d","date":"2024-%02d-01","currency":"USD","customer_external_id":%q,"data_source_uuid":%q,
			"line_items":[{"type":"subscription","subscription_external_id":"%s-sub","plan_uuid":%q,"service_period_start":"2024-%02d-01","service_period_end":"2024-%02d-01","amount_in_cents":%d,"quantity":1}],
			"transactions":[{"type":"payment","result":"successful","date":"2024-%02d-01"}]}`, ext, m, m, ext, b.ds, ext, b.plan, m, m+1, 1000+100*i, m))
	}
	b.must("POST", "/v1/import/customers/"+uuid+"/invoices", `{"invoices":[`+strings.Join(invs, ",")+`]}`, 201)
}

// figures are the answers a backup must reproduce: metrics, cash flow.
func (b *book) figures() string {
	b.t.Helper()
	var out []string
	for _, p := range []string{"/v1/metrics/all?start-date=2024-01-01&end-date=2024-06-30&interval=month",
		"/v1/metrics/cash-flow?start-date=2024-01-01&end-date=2024-06-30&interval=month"} {
		code, body := get(b.t, b.srv, "GET", p, b.key, "")
		if code != 200 {
			b.t.Fatalf("%s: %d %s", p, code, body)
		}
		out = append(out, body)
	}
	return strings.Join(out, "\n")
}

// A backup taken while imports go on is a consistent database: restored,
// it holds whole requests only, and its numbers equal those of a book
// into which exactly the customers it holds were imported.
func TestBackupDuringImportsRestoresIdenticalNumbers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live, err := OpenStore(ctx, storetest.DSN(t, "sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	b := newBook(t, live)
	const n = 40
	halfway, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			b.customer(i)
			if i == n/2 {
				close(halfway)
			}
		}
	}()
	<-halfway
	backup := filepath.Join(dir, "backup.db")
	if err := live.Backup(ctx, backup); err != nil {
		t.Fatalf("backup during imports: %v", err)
	}
	<-done
	if err := live.Backup(ctx, backup); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second backup over the first: %v", err)
	}

	restoredDSN := "sqlite:" + filepath.Join(dir, "restored.db")
	if err := store.Restore(ctx, backup, restoredDSN); err != nil {
		t.Fatalf("restore: %v", err)
	}
	restored, err := OpenStore(ctx, restoredDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	if _, err := Recover(ctx, restored, discard()); err != nil {
		t.Fatal(err)
	}
	rb := &book{t: t, key: b.key, srv: httptest.NewServer(Handler(restored, config.Config{MaxInFlight: 4, MaxBodyBytes: 1 << 20, MaxInvoices: 100, MaxEntries: 5000}, nil))}
	defer rb.srv.Close()
	// Which customers, and which of them with their invoices.
	list := rb.must("GET", "/v1/customers?per_page=200", "", 200)["entries"].([]any)
	withInvoices := 0
	for _, e := range list {
		c := e.(map[string]any)
		invs := rb.must("GET", "/v1/import/customers/"+c["uuid"].(string)+"/invoices", "", 200)["invoices"].([]any)
		switch len(invs) {
		case 3:
			withInvoices++
		case 0:
		default:
			t.Fatalf("customer %v restored with %d of its 3 invoices: a request half written", c["external_id"], len(invs))
		}
	}
	if len(list) <= n/2 || len(list) > n || withInvoices < len(list)-1 {
		t.Fatalf("restored %d customers, %d with invoices; the backup began after %d", len(list), withInvoices, n/2+1)
	}

	fresh, err := OpenStore(ctx, storetest.DSN(t, "sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	fb := newBook(t, fresh)
	for i := range withInvoices {
		fb.customer(i)
	}
	if withInvoices < len(list) { // the last one's profile without its invoices
		fb.must("POST", "/v1/customers", fmt.Sprintf(`{"data_source_uuid":%q,"external_id":"c%03d","name":"Customer %d","country":"US"}`, fb.ds, withInvoices, withInvoices), 201)
	}
	if got, want := rb.figures(), fb.figures(); got != want {
		t.Fatalf("restored numbers differ from a book of the same customers:\nrestored %s\nfresh    %s", got, want)
	}
}

// Restore refuses what is not a Tally database, a database in use, and
// PostgreSQL, and changes nothing when it refuses.
func TestRestoreRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dst := filepath.Join(dir, "live.db")
	live, err := OpenStore(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	newBook(t, live).customer(1)
	backup := filepath.Join(dir, "backup.db")
	if err := live.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	if err := store.Restore(ctx, backup, dst); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("restore over a database a server has open: %v", err)
	}
	live.Close()

	junk := filepath.Join(dir, "junk.db")
	if err := writeFile(junk, "not a database at all, not even close"); err != nil {
		t.Fatal(err)
	}
	if err := store.Restore(ctx, junk, dst); err == nil {
		t.Fatal("restored a file that is no database")
	}
	if err := store.Restore(ctx, filepath.Join(dir, "missing.db"), dst); err == nil {
		t.Fatal("restored a missing file")
	}
	if err := store.Restore(ctx, backup, "postgres://nowhere/db"); !errors.Is(err, store.ErrBackupPostgres) {
		t.Fatalf("restore into PostgreSQL: %v", err)
	}
	// The refusals left the live database whole: it opens with its customer.
	again, err := OpenStore(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var n int
	if err := again.DB().QueryRow(`SELECT count(*) FROM customers`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after refused restores: %d customers, %v", n, err)
	}
	// And the backup restores over it once it is closed.
	again.Close()
	if err := store.Restore(ctx, backup, dst); err != nil {
		t.Fatalf("restore over a stopped database: %v", err)
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o600) }
