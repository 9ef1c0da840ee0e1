let openAPISpec = "{}"
