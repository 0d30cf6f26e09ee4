package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Task is a to-do about a customer (ref §2.5). DueDate and CompletedAt
// are kept as the API writes them: YYYY-MM-DD or an RFC 3339 time in UTC.
type Task struct {
	ID           int64
	UUID         string
	CustomerUUID string
	TaskDetails  string
	Assignee     string
	DueDate      string
	CompletedAt  *string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// TaskFilter selects tasks; empty fields select every one. DueFrom and
// DueBefore (YYYY-MM-DD) bound the due date, the first inclusive, the
// second not; Completed, when set, selects the completed tasks or the
// others.
type TaskFilter struct {
	CustomerUUID string
	Assignee     string
	DueFrom      string
	DueBefore    string
	Completed    *bool
}

const taskCols = `t.id, t.uuid, cu.uuid, t.task_details, t.assignee, t.due_date, t.completed_at, t.created_at, t.updated_at`

const taskFrom = ` FROM tasks t JOIN customers cu ON cu.id = t.customer_id`

func scanTask(row interface{ Scan(...any) error }) (Task, error) {
	var t Task
	var completed sql.NullString
	var created, updated int64
	err := row.Scan(&t.ID, &t.UUID, &t.CustomerUUID, &t.TaskDetails, &t.Assignee, &t.DueDate, &completed, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return t, &MissingError{What: "task"}
	}
	if err != nil {
		return t, fmt.Errorf("read task: %w", err)
	}
	t.CompletedAt, t.CreatedAt, t.UpdatedAt = strPtr(completed), fromMillis(created), fromMillis(updated)
	return t, nil
}

func readTask(ctx context.Context, q querier, acct int64, uuid, lock string) (Task, error) {
	return scanTask(q.QueryRowContext(ctx, `SELECT `+taskCols+taskFrom+` WHERE t.account_id = $1 AND t.uuid = $2`+lock, acct, uuid))
}

// CreateTask stores a task about the customer with UUID customerUUID (an
// unknown one is a *MissingError), filling in its UUID (bare, as
// ChartMogul's) and times.
func (s *Store) CreateTask(ctx context.Context, acct int64, customerUUID string, t *Task) error {
	uuid := NewUUID("")
	return s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		customer, origin, err := crmCustomer(ctx, tx, acct, customerUUID)
		if err != nil {
			return err
		}
		at := millis(now())
		_, err = tx.ExecContext(ctx, `INSERT INTO tasks (account_id, uuid, customer_id, origin_identity_id, task_details, assignee,
			due_date, completed_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
			acct, uuid, customer, origin, t.TaskDetails, t.Assignee, t.DueDate, nullStr(t.CompletedAt), at)
		if err != nil {
			return fmt.Errorf("create task: %w", err)
		}
		got, err := readTask(ctx, tx, acct, uuid, "")
		if err != nil {
			return err
		}
		*t = got
		return nil
	})
}

// Task finds one task of the account by UUID.
func (s *Store) Task(ctx context.Context, acct int64, uuid string) (Task, error) {
	return readTask(ctx, s.r, acct, uuid, "")
}

// ListTasks lists the account's tasks that f selects, in creation order;
// an unknown customer is a *MissingError.
func (s *Store) ListTasks(ctx context.Context, acct int64, f TaskFilter, p Page) (Listed[Task], error) {
	w := newCRMWhere(acct, "t.account_id", f.CustomerUUID != "")
	if err := crmCustomerFilter(ctx, s.reads(), acct, w, "t.customer_id", f.CustomerUUID); err != nil {
		return Listed[Task]{}, err
	}
	for _, c := range []struct{ cond, v string }{
		{"t.assignee = ?", f.Assignee}, {"t.due_date >= ?", f.DueFrom}, {"t.due_date < ?", f.DueBefore},
	} {
		if c.v != "" {
			w.add(c.cond, c.v)
		}
	}
	if f.Completed != nil {
		if *f.Completed {
			w.conds = append(w.conds, "t.completed_at IS NOT NULL")
		} else {
			w.conds = append(w.conds, "t.completed_at IS NULL")
		}
	}
	return list(ctx, s.reads(), "tasks", "", w.page(taskCols, taskFrom, "t.id"), w.args, p.AfterID, p,
		func(row interface{ Scan(...any) error }) (Task, int64, error) {
			t, err := scanTask(row)
			return t, t.ID, err
		})
}

// UpdateTask changes a task: apply edits the stored one (its error aborts
// the update; it may run more than once, see tx).
func (s *Store) UpdateTask(ctx context.Context, acct int64, uuid string, apply func(*Task) error) (Task, error) {
	var t Task
	err := s.accountTx(ctx, acct, func(tx *sql.Tx) error {
		var err error
		if t, err = readTask(ctx, tx, acct, uuid, s.forUpdate("t")); err != nil {
			return err
		}
		if err := apply(&t); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE tasks SET task_details = $3, assignee = $4, due_date = $5, completed_at = $6,
			updated_at = $7 WHERE account_id = $1 AND id = $2`,
			acct, t.ID, t.TaskDetails, t.Assignee, t.DueDate, nullStr(t.CompletedAt), millis(now()))
		if err != nil {
			return fmt.Errorf("update task: %w", err)
		}
		t, err = readTask(ctx, tx, acct, uuid, "")
		return err
	})
	return t, err
}

// DeleteTask removes a task.
func (s *Store) DeleteTask(ctx context.Context, acct int64, uuid string) error {
	return s.crmDelete(ctx, acct, "tasks", "task", uuid)
}
