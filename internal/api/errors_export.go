package api

import "net/http"

// WriteError writes the API's error body ({"error": {code, title,
// message}}) with the HTTP status equal to code, for handlers mounted
// beside the API (Options.Mounts) that must answer like it.
func WriteError(w http.ResponseWriter, code int, message string) { writeError(w, code, message) }
