// Package apiservertest provides fakes of the API server's seams, a Backend
// and a Control, for tests of the API server and of its clients. Each method
// calls the matching Fn field when it is set and counts its calls; with the
// Fn unset it returns a harmless default, documented per method.
package apiservertest
