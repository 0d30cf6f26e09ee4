package api

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tally-analytics/tally/internal/auth"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// TestReadIsTheAPI: an in-process read (the dashboard's) is the HTTP
// answer byte for byte, refusals included, for the principal given.
func TestReadIsTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := newEnv(t, s, Options{})
		_, cus, _ := syncalytics(t, e)
		a := newAPI(s, Options{})
		k, acct, err := s.KeyByHash(context.Background(), auth.Hash(e.key))
		if err != nil {
			t.Fatal(err)
		}
		p := auth.Principal{Key: k, Account: acct}
		for _, path := range []string{
			"/v1/metrics/all?start-date=2024-01-01&end-date=2025-03-31&interval=month",
			"/v1/metrics/mrr?start-date=2024-01-01&end-date=2025-03-31&interval=quarter",
			"/v1/metrics/retention?start-date=2024-01-01&end-date=2025-03-31",
			"/v1/customers/" + cus, "/v1/customers/" + cus + "/reconciliation",
		} {
			u, _ := url.Parse(path)
			got, err := a.Read(context.Background(), p, u.Path, u.Query())
			if err != nil {
				t.Fatalf("read %s: %v", path, err)
			}
			want := e.do(e.key, http.MethodGet, path, nil)
			if want.status != http.StatusOK || !bytes.Equal(got, want.body) {
				t.Errorf("%s: read\n%s\nHTTP %d\n%s", path, got, want.status, want.body)
			}
		}
		// A refusal comes back as the API's status and message.
		_, err = a.Read(context.Background(), p, "/v1/metrics/mrr", url.Values{"start-date": {"2024-13-01"}})
		var re *ReadError
		if !errors.As(err, &re) || re.StatusCode() != http.StatusBadRequest || !strings.Contains(re.Message(), "start-date") {
			t.Errorf("bad date: %v", err)
		}
		_, err = a.Read(context.Background(), p, "/v1/customers/cus_nobody", nil)
		if !errors.As(err, &re) || re.StatusCode() != http.StatusNotFound || re.Message() != "Customer not found" {
			t.Errorf("unknown customer: %v", err)
		}
		// Another account's principal does not see this one's customer.
		ko, other, err := s.KeyByHash(context.Background(), auth.Hash(e.otherKey))
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Read(context.Background(), auth.Principal{Key: ko, Account: other}, "/v1/customers/"+cus, nil)
		if !errors.As(err, &re) || re.StatusCode() != http.StatusNotFound {
			t.Errorf("another account's customer: %v", err)
		}
	})
}
