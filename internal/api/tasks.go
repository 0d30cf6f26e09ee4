package api

import (
	"net/http"
	"strings"

	"github.com/tally-analytics/tally/internal/billing"
	"github.com/tally-analytics/tally/internal/store"
)

// taskIn is a task body of POST, PATCH or PUT (ref §2.5).
type taskIn struct {
	CustomerUUID optString `json:"customer_uuid"`
	TaskDetails  optString `json:"task_details"`
	Assignee     optString `json:"assignee"`
	DueDate      optString `json:"due_date"`
	CompletedAt  optString `json:"completed_at"`
}

// apply checks the fields sent and sets them on t (every required one on
// create), recording what is wrong in errs. due_date and completed_at
// keep the precision they were sent with: a date, or a time (in UTC).
func (in *taskIn) apply(t *store.Task, create bool, errs billing.FieldErrors) {
	crmRequired(errs, "task_details", in.TaskDetails, create, "A task needs details (task_details).")
	billing.CheckLength(errs, "task_details", strings.TrimSpace(in.TaskDetails.Value), billing.MaxIDLength)
	if v := crmText(in.TaskDetails); v != nil {
		t.TaskDetails = *v
	}
	crmRequired(errs, "assignee", in.Assignee, create, "A task needs an assignee (a user's e-mail address).")
	billing.CheckLength(errs, "assignee", strings.TrimSpace(in.Assignee.Value), billing.MaxIDLength)
	if v := crmText(in.Assignee); v != nil {
		t.Assignee = *v
	}
	crmRequired(errs, "due_date", in.DueDate, create, "A task needs a due date.")
	if v := crmText(in.DueDate); v != nil {
		t.DueDate = crmDate(errs, "due_date", *v, false)
	}
	if in.CompletedAt.Set {
		t.CompletedAt = nil // null or blank: not completed
		if v := crmText(in.CompletedAt); v != nil {
			d := crmDate(errs, "completed_at", *v, false)
			t.CompletedAt = &d
		}
	}
}

// taskOut carries the UUID twice: the reference names it task_uuid, the
// client's own tests uuid.
type taskOut struct {
	UUID         string  `json:"uuid"`
	TaskUUID     string  `json:"task_uuid"`
	CustomerUUID string  `json:"customer_uuid"`
	TaskDetails  string  `json:"task_details"`
	Assignee     string  `json:"assignee"`
	DueDate      string  `json:"due_date"`
	CompletedAt  *string `json:"completed_at"`
	CreatedAt    string  `json:"created_at"`
	UpdatedAt    string  `json:"updated_at"`
}

func taskWire(t store.Task) taskOut {
	return taskOut{UUID: t.UUID, TaskUUID: t.UUID, CustomerUUID: t.CustomerUUID, TaskDetails: t.TaskDetails,
		Assignee: t.Assignee, DueDate: t.DueDate, CompletedAt: t.CompletedAt,
		CreatedAt: billing.FormatImportTime(t.CreatedAt), UpdatedAt: billing.FormatImportTime(t.UpdatedAt)}
}

// createTask is POST /v1/tasks (and POST /v1/customers/{uuid}/tasks): 201
// with the task.
func (a *API) createTask(w http.ResponseWriter, r *http.Request) error {
	var in taskIn
	if err := decode(r, &in); err != nil {
		return err
	}
	customer := crmCustomerUUID(r, in.CustomerUUID.Value)
	var t store.Task
	errs := billing.FieldErrors{}
	in.apply(&t, true, errs)
	if customer == "" {
		errs["customer_uuid"] = "A task needs its customer's UUID (customer_uuid)."
	}
	if err := crmInvalid(errs); err != nil {
		return err
	}
	if err := a.store.CreateTask(r.Context(), account(r).ID, customer, &t); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, taskWire(t))
	return nil
}

// listTasks is GET /v1/tasks (filters customer_uuid, assignee,
// due_date_on_or_after, due_date_on_or_before, completed) and GET
// /v1/customers/{uuid}/tasks.
func (a *API) listTasks(w http.ResponseWriter, r *http.Request) error {
	pr, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.TaskFilter{CustomerUUID: crmCustomerUUID(r, q.Get("customer_uuid")), Assignee: strings.TrimSpace(q.Get("assignee"))}
	if f.DueFrom, _, err = crmDayParam(q, "due_date_on_or_after"); err != nil {
		return err
	}
	if _, f.DueBefore, err = crmDayParam(q, "due_date_on_or_before"); err != nil {
		return err
	}
	switch c := strings.TrimSpace(q.Get("completed")); c {
	case "":
	case "true", "false":
		done := c == "true"
		f.Completed = &done
	default:
		return errBadRequest("completed must be true or false.", "completed")
	}
	l, err := a.store.ListTasks(r.Context(), account(r).ID, f, pr.page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newCRMPage(pr, l, taskWire))
	return nil
}

func (a *API) getTask(w http.ResponseWriter, r *http.Request) error {
	t, err := a.store.Task(r.Context(), account(r).ID, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, taskWire(t))
	return nil
}

// updateTask is PATCH (and PUT) /v1/tasks/{uuid}: the fields sent change;
// completed_at null reopens the task.
func (a *API) updateTask(w http.ResponseWriter, r *http.Request) error {
	var in taskIn
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := a.store.UpdateTask(r.Context(), account(r).ID, r.PathValue("uuid"), func(t *store.Task) error {
		errs := billing.FieldErrors{}
		in.apply(t, false, errs)
		return crmInvalid(errs)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, taskWire(t))
	return nil
}

func (a *API) deleteTask(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.DeleteTask(r.Context(), account(r).ID, r.PathValue("uuid")); err != nil {
		return err
	}
	crmDeleted(w)
	return nil
}
