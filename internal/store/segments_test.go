package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
	"github.com/tally-analytics/tally/internal/store/storetest"
)

// Saved segments: created with a seg_ UUID, listed in creation order by
// cursor, renamed and refiltered, deleted; a name is unique in its
// account; another account's segment is as unknown as a made-up one.
func TestSegments(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, _ := s.EnsureAccount(ctx, "acme")
		b, _, _ := s.EnsureAccount(ctx, "globex")
		var made []store.Segment
		for _, g := range []store.Segment{{Name: "US", Filters: "region~ANY~'US'"}, {Name: "Big", Filters: "mrr~GT~1000"},
			{Name: "Tagged", Filters: "tags~ANY~'vip'"}} {
			if err := s.CreateSegment(ctx, a.ID, &g); err != nil {
				t.Fatal(err)
			}
			if len(g.UUID) != len("seg_")+36 || g.UUID[:4] != "seg_" || g.CreatedAt.IsZero() || !g.UpdatedAt.Equal(g.CreatedAt) {
				t.Fatalf("created %+v", g)
			}
			made = append(made, g)
		}
		theirs := store.Segment{Name: "US", Filters: "region~ANY~'GB'"} // the same name in another account
		if err := s.CreateSegment(ctx, b.ID, &theirs); err != nil {
			t.Fatal(err)
		}
		dup := store.Segment{Name: "US", Filters: "region~ANY~'DE'"}
		var conflict *store.ConflictError
		if err := s.CreateSegment(ctx, a.ID, &dup); !errors.As(err, &conflict) || conflict.Field != "name" {
			t.Fatalf("a second US: %v", err)
		}

		first, err := s.ListSegments(ctx, a.ID, store.Page{Limit: 2})
		if err != nil || len(first.Items) != 2 || !first.HasMore || first.Total != 3 || first.Items[0].UUID != made[0].UUID {
			t.Fatalf("first page %+v, %v", first, err)
		}
		second, err := s.ListSegments(ctx, a.ID, store.Page{Limit: 2, AfterID: first.LastID})
		if err != nil || len(second.Items) != 1 || second.HasMore || second.Items[0].UUID != made[2].UUID {
			t.Fatalf("second page %+v, %v", second, err)
		}
		if d := cmp.Diff(made[1], first.Items[1]); d != "" {
			t.Errorf("listed (-created +listed)\n%s", d)
		}

		name, filters := "Very big", "mrr~GT~5000"
		g, err := s.UpdateSegment(ctx, a.ID, made[1].UUID, &name, nil)
		if err != nil || g.Name != name || g.Filters != made[1].Filters || g.UpdatedAt.Before(made[1].UpdatedAt) || !g.CreatedAt.Equal(made[1].CreatedAt) {
			t.Fatalf("renamed %+v, %v", g, err)
		}
		if g, err = s.UpdateSegment(ctx, a.ID, made[1].UUID, nil, &filters); err != nil || g.Name != name || g.Filters != filters {
			t.Fatalf("refiltered %+v, %v", g, err)
		}
		if got, err := s.Segment(ctx, a.ID, made[1].UUID); err != nil || got != g {
			t.Fatalf("read back %+v, %v; want %+v", got, err, g)
		}
		taken := "Tagged"
		if _, err := s.UpdateSegment(ctx, a.ID, made[1].UUID, &taken, nil); !errors.As(err, &conflict) || conflict.Field != "name" {
			t.Fatalf("renamed to a name taken: %v", err)
		}

		// Another account's segment, and one that never was.
		for _, uuid := range []string{theirs.UUID, "seg_00000000-0000-0000-0000-000000000000"} {
			if _, err := s.Segment(ctx, a.ID, uuid); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("get %s: %v", uuid, err)
			}
			if _, err := s.UpdateSegment(ctx, a.ID, uuid, &name, nil); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("update %s: %v", uuid, err)
			}
			if err := s.DeleteSegment(ctx, a.ID, uuid); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("delete %s: %v", uuid, err)
			}
		}
		if got, err := s.Segment(ctx, b.ID, theirs.UUID); err != nil || got.Filters != theirs.Filters {
			t.Errorf("theirs after our attempts: %+v, %v", got, err)
		}

		if err := s.DeleteSegment(ctx, a.ID, made[0].UUID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSegment(ctx, a.ID, made[0].UUID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted twice: %v", err)
		}
		// Its name is free again.
		again := store.Segment{Name: "US", Filters: "region~ANY~'US'"}
		if err := s.CreateSegment(ctx, a.ID, &again); err != nil {
			t.Fatal(err)
		}
		if l, err := s.ListSegments(ctx, a.ID, store.Page{Limit: 10}); err != nil || len(l.Items) != 3 || l.Items[2].UUID != again.UUID {
			t.Fatalf("after delete and create: %+v, %v", l, err)
		}
	})
}

// What a segment's plan_group and data_source filters look up: the
// account's groups with their plans in order (none for an empty group),
// its data sources, and the names of neither.
func TestResolveGroupsAndSources(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, _ := s.EnsureAccount(ctx, "acme")
		b, _, _ := s.EnsureAccount(ctx, "globex")
		ds, err := s.CreateDataSource(ctx, a.ID, "Billing", billing.SystemImportAPI)
		if err != nil {
			t.Fatal(err)
		}
		theirDS, err := s.CreateDataSource(ctx, b.ID, "Billing", billing.SystemImportAPI)
		if err != nil {
			t.Fatal(err)
		}
		var plans []string
		for _, name := range []string{"Bronze", "Silver"} {
			p := billing.Plan{DataSourceUUID: ds.UUID, Name: name, IntervalCount: 1, IntervalUnit: "month"}
			if err := s.CreatePlan(ctx, a.ID, &p); err != nil {
				t.Fatal(err)
			}
			plans = append(plans, p.UUID)
		}
		both, err := s.CreatePlanGroup(ctx, a.ID, "Both", []string{plans[1], plans[0]})
		if err != nil {
			t.Fatal(err)
		}
		empty, err := s.CreatePlanGroup(ctx, a.ID, "Empty", []string{plans[0]})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdatePlanGroup(ctx, a.ID, empty.UUID, nil, &[]string{}); err != nil {
			t.Fatal(err)
		}
		tp := billing.Plan{DataSourceUUID: theirDS.UUID, Name: "Theirs", IntervalCount: 1, IntervalUnit: "month"}
		if err := s.CreatePlan(ctx, b.ID, &tp); err != nil {
			t.Fatal(err)
		}
		theirs, err := s.CreatePlanGroup(ctx, b.ID, "Theirs", []string{tp.UUID})
		if err != nil {
			t.Fatal(err)
		}
		got, unknown, err := s.ResolvePlanGroups(ctx, a.ID, []string{both.UUID, empty.UUID, theirs.UUID, "plg_none", both.UUID})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string][]string{both.UUID: {plans[1], plans[0]}, empty.UUID: {}}, got); d != "" {
			t.Errorf("groups (-want +got)\n%s", d)
		}
		if d := cmp.Diff([]string{theirs.UUID, "plg_none"}, unknown); d != "" {
			t.Errorf("unknown groups (-want +got)\n%s", d)
		}
		known, unknown, err := s.ResolveDataSources(ctx, a.ID, []string{theirDS.UUID, ds.UUID, "ds_none"})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{ds.UUID}, known); d != "" {
			t.Errorf("data sources (-want +got)\n%s", d)
		}
		if d := cmp.Diff([]string{theirDS.UUID, "ds_none"}, unknown); d != "" {
			t.Errorf("unknown data sources (-want +got)\n%s", d)
		}
	})
}

// An account holds at most billing.MaxSegments segments: the next is a
// FieldErrors naming name (a 422), and another account is not counted.
func TestSegmentsPerAccountBound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, _ := s.EnsureAccount(ctx, "acme")
		b, _, _ := s.EnsureAccount(ctx, "globex")
		// All but one, written directly: the bound is what is tested.
		var q strings.Builder
		q.WriteString(`INSERT INTO segments (account_id, uuid, name, filters, created_at, updated_at) VALUES `)
		for i := range billing.MaxSegments - 1 {
			if i > 0 {
				q.WriteString(",")
			}
			fmt.Fprintf(&q, "(%d, 'seg_%036d', 'S%d', 'region~ANY~''US''', 0, 0)", a.ID, i, i)
		}
		if _, err := s.DB().ExecContext(ctx, q.String()); err != nil {
			t.Fatal(err)
		}
		last := store.Segment{Name: "Last", Filters: "region~ANY~'GB'"}
		if err := s.CreateSegment(ctx, a.ID, &last); err != nil {
			t.Fatalf("segment %d of %d: %v", billing.MaxSegments, billing.MaxSegments, err)
		}
		over := store.Segment{Name: "Over", Filters: "region~ANY~'GB'"}
		var fe billing.FieldErrors
		if err := s.CreateSegment(ctx, a.ID, &over); !errors.As(err, &fe) || !strings.Contains(fe["name"], fmt.Sprintf("at most %d", billing.MaxSegments)) {
			t.Fatalf("segment %d: %v", billing.MaxSegments+1, err)
		}
		if err := s.CreateSegment(ctx, b.ID, &over); err != nil {
			t.Fatalf("another account's first segment: %v", err)
		}
	})
}
