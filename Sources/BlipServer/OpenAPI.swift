/// The hand-written OpenAPI 3.1 description served by `GET /openapi.json`.
let openAPISpec = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "BLIP inference server",
    "version": "0.1.0",
    "description": "Image captioning, visual question answering and image-text matching with BLIP models. Requests for one model are batched dynamically. Errors are JSON {\"error\", \"error_type\"}."
  },
  "paths": {
    "/": {
      "get": {
        "summary": "Web page: upload an image, see its caption, ask questions, match texts",
        "responses": {"200": {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}
      },
      "post": {
        "summary": "Hosted-handler payload: captions (no texts) or answers, one result list per image",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HostedRequest"}}}},
        "responses": {
          "200": {"description": "One result list per image", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HostedResponse"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/ModelNotLoaded"},
          "408": {"$ref": "#/components/responses/Timeout"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "422": {"$ref": "#/components/responses/Invalid"},
          "503": {"$ref": "#/components/responses/Busy"},
          "504": {"description": "A url image did not arrive within the remote-image deadline (error_type remote_image_timeout)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/inference/blip": {
      "post": {
        "summary": "Caption an image, or answer a question about it",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceRequest"}}}},
        "responses": {
          "200": {"description": "Caption (no question) or answer", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceResponse"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/ModelNotLoaded"},
          "408": {"$ref": "#/components/responses/Timeout"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "422": {"$ref": "#/components/responses/Invalid"},
          "503": {"$ref": "#/components/responses/Busy"}
        }
      }
    },
    "/caption": {
      "post": {
        "summary": "Caption an uploaded image (multipart form)",
        "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
          "type": "object", "required": ["file"],
          "properties": {
            "file": {"type": "string", "format": "binary", "description": "JPEG, PNG or WebP image"},
            "prompt": {"type": "string", "description": "Conditional captioning prefix"},
            "max_new_tokens": {"type": "integer"}, "min_new_tokens": {"type": "integer"}, "num_beams": {"type": "integer"},
            "length_penalty": {"type": "number"}, "repetition_penalty": {"type": "number"}, "do_sample": {"type": "boolean"},
            "top_k": {"type": "integer"}, "top_p": {"type": "number"}, "temperature": {"type": "number"}, "seed": {"type": "integer"},
            "num_return_sequences": {"type": "integer", "description": "Captions to return (then also \"captions\", best first)"},
            "stream": {"type": "boolean", "description": "Server-sent events, as in InferenceRequest"}
          }}}}},
        "responses": {
          "200": {"description": "The caption", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceResponse"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/ModelNotLoaded"},
          "408": {"$ref": "#/components/responses/Timeout"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "422": {"$ref": "#/components/responses/Invalid"},
          "503": {"$ref": "#/components/responses/Busy"}
        }
      }
    },
    "/vqa": {
      "post": {
        "summary": "Answer a question about an uploaded image (multipart form)",
        "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
          "type": "object", "required": ["file", "question"],
          "properties": {
            "file": {"type": "string", "format": "binary"},
            "question": {"type": "string"},
            "max_new_tokens": {"type": "integer"}, "num_beams": {"type": "integer"},
            "stream": {"type": "boolean", "description": "Server-sent events, as in InferenceRequest"},
            "candidates": {"type": "array", "items": {"type": "string"}, "description": "Rank mode: repeat once per candidate answer"},
            "k": {"type": "integer"}
          }}}}},
        "responses": {
          "200": {"description": "The answer", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceResponse"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/ModelNotLoaded"},
          "408": {"$ref": "#/components/responses/Timeout"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "422": {"$ref": "#/components/responses/Invalid"},
          "503": {"$ref": "#/components/responses/Busy"}
        }
      }
    },
    "/match": {
      "post": {
        "summary": "Score texts against an image: ITM probability and ITC cosine per text",
        "requestBody": {"required": true, "content": {
          "application/json": {"schema": {"$ref": "#/components/schemas/MatchRequest"}},
          "multipart/form-data": {"schema": {"type": "object", "required": ["file", "texts"], "properties": {
            "file": {"type": "string", "format": "binary"},
            "texts": {"type": "array", "items": {"type": "string"}, "description": "Repeat the field once per text"}
          }}}
        }},
        "responses": {
          "200": {"description": "One score pair per text", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MatchResponse"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/ModelNotLoaded"},
          "408": {"$ref": "#/components/responses/Timeout"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "422": {"$ref": "#/components/responses/Invalid"},
          "503": {"$ref": "#/components/responses/Busy"}
        }
      }
    },
    "/embed": {
      "post": {
        "summary": "Unit ITC embedding of one image or one text (the dot product of an image's and a text's is their ITC cosine)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
          "image": {"type": "string", "format": "byte", "description": "Base64 JPEG, PNG or WebP"},
          "text": {"type": "string"}
        }, "description": "Exactly one of image or text"}}}},
        "responses": {
          "200": {"description": "The embedding", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "embedding": {"type": "array", "items": {"type": "number"}}, "dimensions": {"type": "integer"},
            "vectors": {"type": "integer", "description": "Unit vectors in the embedding: 1 for BLIP and texts; 32 for a BLIP-2 image (ITC = the best of their dot products with a text's)"},
            "inference_time_ms": {"type": "number"}}}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"$ref": "#/components/responses/ModelNotLoaded"},
          "422": {"$ref": "#/components/responses/Invalid"},
          "503": {"$ref": "#/components/responses/Busy"}
        }
      }
    },
    "/search": {
      "post": {
        "summary": "Search the server's image index (serve --index) by text or by image",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
          "text": {"type": "string"}, "image": {"type": "string", "format": "byte", "description": "Base64 JPEG, PNG or WebP"},
          "top_k": {"type": "integer", "minimum": 1, "maximum": 100, "default": 12},
          "rerank": {"type": "integer", "minimum": 0, "maximum": 64, "description": "Text queries: re-score the best K with ITM (each image is read and encoded again)"}
        }, "description": "Exactly one of text or image"}}}},
        "responses": {
          "200": {"description": "Hits, best first", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "hits": {"type": "array", "items": {"type": "object", "properties": {
              "rank": {"type": "integer"}, "path": {"type": "string"}, "itc": {"type": "number"}, "itm": {"type": "number"},
              "thumbnail": {"type": "string", "description": "URL of GET /thumbnail for this image"}}}},
            "images": {"type": "integer", "description": "Images in the index"},
            "failures": {"type": "array", "items": {"type": "string"}, "description": "Re-rank candidates that could not be read again"},
            "inference_time_ms": {"type": "number"}}}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "404": {"description": "No index loaded (error_type index_not_loaded)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "422": {"$ref": "#/components/responses/Invalid"},
          "503": {"$ref": "#/components/responses/Busy"}
        }
      }
    },
    "/thumbnail": {
      "get": {
        "summary": "JPEG thumbnail of an indexed image (only paths the index holds)",
        "parameters": [
          {"name": "path", "in": "query", "required": true, "schema": {"type": "string"}},
          {"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 16, "maximum": 512, "default": 256}}
        ],
        "responses": {
          "200": {"description": "The thumbnail", "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
          "404": {"description": "Not an indexed image, or it cannot be read any more", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "422": {"$ref": "#/components/responses/Invalid"}
        }
      }
    },
    "/health": {
      "get": {"summary": "Liveness", "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"status": {"type": "string", "const": "ok"}}}}}}}}
    },
    "/info": {
      "get": {"summary": "Loaded models, limits and version", "responses": {"200": {"description": "Server information", "content": {"application/json": {"schema": {
        "type": "object", "properties": {
          "name": {"type": "string"}, "version": {"type": "string"},
          "models": {"type": "object", "additionalProperties": {"type": "object", "properties": {"source": {"type": "string"}, "task": {"type": "string"}, "precision": {"type": "string", "enum": ["fp32", "bf16", "int8"]}, "threads": {"type": "integer"}}}},
          "limits": {"type": "object"}
        }}}}}}}
    },
    "/metrics": {
      "get": {"summary": "Prometheus metrics: requests by route and status, latency histogram, queue depth, batch sizes",
        "responses": {"200": {"description": "Prometheus text format 0.0.4", "content": {"text/plain": {"schema": {"type": "string"}}}}}}
    },
    "/openapi.json": {
      "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}
    }
  },
  "components": {
    "schemas": {
      "GenerationParameters": {
        "type": "object",
        "description": "Generation options (transformers names); omitted values keep the model's defaults.",
        "properties": {
          "max_new_tokens": {"type": "integer", "minimum": 1},
          "min_new_tokens": {"type": "integer", "minimum": 0},
          "num_beams": {"type": "integer", "minimum": 1},
          "num_return_sequences": {"type": "integer", "minimum": 1, "description": "Captions only: also return \"captions\", best first (beam search: at most num_beams)"},
          "length_penalty": {"type": "number"},
          "repetition_penalty": {"type": "number", "exclusiveMinimum": 0},
          "do_sample": {"type": "boolean"},
          "top_k": {"type": "integer", "minimum": 0},
          "top_p": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
          "temperature": {"type": "number", "exclusiveMinimum": 0},
          "seed": {"type": "integer", "minimum": 0}
        }
      },
      "InferenceRequest": {
        "allOf": [
          {"$ref": "#/components/schemas/GenerationParameters"},
          {"type": "object", "required": ["image"], "properties": {
            "image": {"type": "string", "description": "Base64 JPEG, PNG or WebP (a data: URL prefix is allowed)"},
            "question": {"type": "string", "description": "Ask this (VQA model) instead of captioning"},
            "prompt": {"type": "string", "description": "Conditional captioning prefix"},
            "stream": {"type": "boolean", "description": "Answer as text/event-stream: one {text, delta} event per token, then {done: true, caption|answer, inference_time_ms} (or {done: true, error, error_type})"},
            "candidates": {"type": "array", "items": {"type": "string"}, "description": "With question: rank these answers (official BLIP rank mode) instead of generating one"},
            "k": {"type": "integer", "minimum": 1, "description": "Rank mode: candidates kept after the first-token filter (default min(count, 128))"},
            "parameters": {"$ref": "#/components/schemas/GenerationParameters"}
          }}
        ]
      },
      "InferenceResponse": {
        "type": "object",
        "properties": {
          "caption": {"type": "string"},
          "captions": {"type": "array", "items": {"type": "string"}, "description": "With num_return_sequences: every caption, best first"},
          "answer": {"type": "string"},
          "ranked": {"type": "array", "items": {"type": "object", "properties": {"answer": {"type": "string"}, "probability": {"type": "number"}}}, "description": "Rank mode: the kept candidates, best first"},
          "inference_time_ms": {"type": "number"}
        },
        "required": ["inference_time_ms"]
      },
      "MatchRequest": {
        "type": "object", "required": ["image", "texts"],
        "properties": {"image": {"type": "string", "description": "Base64 image"}, "texts": {"type": "array", "items": {"type": "string"}, "minItems": 1}}
      },
      "MatchResponse": {
        "type": "object",
        "properties": {
          "matches": {"type": "array", "items": {"type": "object", "properties": {
            "text": {"type": "string"},
            "itm_probability": {"type": "number", "minimum": 0, "maximum": 1},
            "itc_cosine": {"type": "number", "minimum": -1, "maximum": 1}
          }}},
          "inference_time_ms": {"type": "number"}
        }
      },
      "HostedRequest": {
        "type": "object", "required": ["inputs"],
        "properties": {
          "inputs": {"type": "object", "required": ["images"], "properties": {
            "texts": {"type": "array", "items": {"type": "array", "items": {"type": "string"}},
              "description": "Questions: one list per image (or one list for all images); absent or empty: captions"},
            "images": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {
              "b64": {"type": "string"},
              "url": {"type": "string", "description": "http(s) only, when the server runs with --allow-remote-images"}
            }}}
          }},
          "parameters": {"$ref": "#/components/schemas/GenerationParameters"}
        }
      },
      "HostedResponse": {
        "type": "object",
        "properties": {
          "captions": {"type": "array", "items": {"type": "object", "properties": {"image_results": {"type": "array", "items": {"type": "string"}}}}},
          "inference_time_ms": {"type": "number"}
        }
      },
      "Error": {
        "type": "object", "required": ["error", "error_type"],
        "properties": {"error": {"type": "string"}, "error_type": {"type": "string"}}
      }
    },
    "responses": {
      "BadRequest": {"description": "Malformed body (not JSON, not multipart)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Invalid": {"description": "Invalid input: missing field, bad base64, undecodable or too large image, bad option", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "ModelNotLoaded": {"description": "The model this request needs is not loaded", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Timeout": {"description": "The request body did not arrive within --request-timeout seconds (error_type request_timeout); the connection is closed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "TooLarge": {"description": "Body over the server's limit, or one image larger than the whole decoded-image budget (error_type image_over_decode_budget)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Busy": {"description": "Queue full, or the body-bytes or decoded-pixel budget in use (error_type queue_full, server_busy, decode_budget_full); retry after Retry-After seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  }
}
"""#
