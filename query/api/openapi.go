package api

import _ "embed"

// OpenAPI is the OpenAPI 3 document of the API, served at
// /api/v1/openapi.json. A test keeps it in step with the registered routes
// and validates real responses against it.
//
//go:embed openapi.json
var OpenAPI []byte
