// Package api is ChartMogul's v1 REST wire: routes, request decoding,
// response shapes, pagination, authentication and the error bodies of
// api-reference.md. Handlers stay thin: they decode, call billing for
// validation and store for data, and encode. errors.go is the only place
// that writes error bodies. It must not import database/sql.
package api
