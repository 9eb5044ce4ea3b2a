// Generated from docs/openapi.json by `npm run docs:openapi`. Do not edit.

export type ErrorBody = {
  error: {
    type: "invalid_request_error" | "authentication_error" | "permission_error" | "not_found_error" | "conflict_error" | "rate_limit_error" | "server_error" | "service_unavailable_error";
    /** Machine-readable reason, e.g. `assistant_not_found`, `string_too_long`. */
    code: string | null;
    /** A sentence for humans. */
    message: string;
    /** The request field (or header) at fault, when there is one. */
    param: string | null;
  };
};

export type Run = {
  id: string;
  object: "thread.run";
  created_at: number;
  thread_id: string;
  assistant_id: string;
  status: "queued" | "in_progress" | "requires_action" | "cancelling" | "cancelled" | "failed" | "completed" | "incomplete" | "expired";
  required_action: {
    type: "submit_tool_outputs";
    submit_tool_outputs: {
      tool_calls: {
        id: string;
        type: "function";
        function: {
          name: string;
          arguments: string;
          [key: string]: unknown;
        };
        [key: string]: unknown;
      }[];
      [key: string]: unknown;
    };
    [key: string]: unknown;
  } | null;
  last_error: {
    code: string;
    message: string;
    [key: string]: unknown;
  } | null;
  expires_at: number | null;
  started_at: number | null;
  completed_at: number | null;
  model: string;
  instructions: string;
  tools: {
    type: string;
    [key: string]: unknown;
  }[];
  metadata?: Record<string, string> | null;
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    [key: string]: unknown;
  } | null;
  /** The caller's conversation key (webhook API), if any. */
  conversation: string | null;
  /** A delayed run's start time (`run_at` / `delay_s`). */
  scheduled_for?: string;
  /** The run's answer once it completed: text and annotations. */
  output: unknown;
  timeline: {
    status: string;
    at: string;
    cause?: string | null;
    [key: string]: unknown;
  }[];
  /** The callback's delivery (null without a callback_url). */
  delivery: {
    state: string;
    event_id: string | null;
    /** null for a run an integration started (see integration_id). */
    callback_url: string | null;
    /** The integration whose bot posts this run's answer. */
    integration_id?: string;
    attempts: Record<string, unknown>[];
    next_attempt_at: string | null;
    [key: string]: unknown;
  } | null;
  [key: string]: unknown;
};

export type Schedule = {
  id: string;
  object: "schedule";
  created_at: number;
  cron: string;
  timezone: string;
  start_at: string | null;
  end_at: string | null;
  enabled: boolean;
  assistant_id: string;
  input: string;
  conversation: string | null;
  callback_url: string;
  metadata: Record<string, string>;
  last_fired_at: string | null;
  [key: string]: unknown;
};

export type AcceptedRun = Run & {
  links: {
    self: string;
    thread: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

export type RunStep = {
  id: string;
  object: "thread.run.step";
  run_id: string;
  thread_id: string;
  type: "message_creation" | "tool_calls";
  status: string;
  step_details: {
    type: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

export type Thread = {
  id: string;
  object: "thread";
  created_at: number;
  metadata?: Record<string, string> | null;
  [key: string]: unknown;
};

export type Message = {
  id: string;
  object: "thread.message";
  created_at: number;
  thread_id: string;
  role: "user" | "assistant";
  content: {
    type: string;
    [key: string]: unknown;
  }[];
  [key: string]: unknown;
};

export type Assistant = {
  id: string;
  object: "assistant";
  created_at: number;
  model: string;
  name?: string | null;
  instructions?: string | null;
  tools: {
    type: string;
    [key: string]: unknown;
  }[];
  [key: string]: unknown;
};

export type AssistantFile = {
  id: string;
  object: "assistant.file";
  assistant_id: string;
  [key: string]: unknown;
};

export type File = {
  id: string;
  object: "file";
  bytes: number;
  filename: string;
  purpose: string;
  [key: string]: unknown;
};

export type VectorStore = {
  id: string;
  object: "vector_store";
  status: string;
  [key: string]: unknown;
};

export type VectorStoreFile = {
  id: string;
  object: "vector_store.file";
  vector_store_id: string;
  status: string;
  [key: string]: unknown;
};

export type FileBatch = {
  id: string;
  object: "vector_store.files_batch";
  vector_store_id: string;
  status: string;
  [key: string]: unknown;
};

export type Model = {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  [key: string]: unknown;
};

export type ApiKey = {
  id: string;
  object: "api_key";
  name: string | null;
  role: string;
  assistant_ids: string[] | null;
  rate_limit_per_min: number | null;
  /** The key's last characters, to recognise it. */
  hint: string;
  created_at: number;
  revoked_at: number | null;
  [key: string]: unknown;
};

export type IssuedKey = ApiKey & {
  /** The key itself: shown once, in this answer only. */
  key: string;
  [key: string]: unknown;
};

export type Tenant = {
  id: string;
  object: "tenant";
  name: string | null;
  created_at: number;
  limits: {
    max_active_runs?: number | null;
    monthly_runs?: number | null;
    monthly_tokens?: number | null;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

export type CreatedTenant = Tenant & {
  /** The tenant's first callback signing secret, shown once. */
  webhook_secret: string;
  [key: string]: unknown;
};

export type RotatedSecret = {
  object: "webhook_secret";
  /** The new secret, shown once. */
  webhook_secret: string;
  secrets: {
    id: string;
    [key: string]: unknown;
  }[];
  [key: string]: unknown;
};

export type Usage = {
  object: "usage";
  [key: string]: unknown;
};

/** `{ status }`; with the operator key, also the state of each backing service. */
export type Health = {
  status: "ok" | "degraded" | "misconfigured";
  [key: string]: unknown;
};

/** What the step did, e.g. `{ outcome: "progressed" }`. */
export type StepAnswer = {
  outcome: string;
  retry_after_s?: number;
  [key: string]: unknown;
};

export type SendMessageRequest = {
  assistant_id: string;
  thread_id?: string;
  conversation?: string;
  input: string | {
    type: "text" | "input_text";
    text: string;
  }[];
  instructions?: string;
  additional_instructions?: string;
  model?: string;
  temperature?: number;
  top_p?: number;
  max_output_tokens?: number;
  metadata?: Record<string, string>;
  timeout_s?: number;
  callback_url: string;
  callback_headers?: Record<string, string>;
  tools?: {
    type: "code_interpreter";
  } | {
    type: "retrieval";
  } | {
    type: "file_search";
    file_search?: {
      vector_store_ids?: string[];
      max_num_results?: number;
      ranking_options?: Record<string, unknown>;
    };
  } | {
    type: "function";
    function: {
      name: string;
      description?: string;
      parameters?: Record<string, unknown>;
      strict?: boolean | null;
    };
    endpoint?: {
      url: string;
      headers?: Record<string, string>;
      timeout_ms?: number;
    };
  }[];
  tool_choice?: ("none" | "auto" | "required") | {
    type: "function";
    function: {
      name: string;
    };
  } | {
    type: "file_search" | "code_interpreter";
  };
  parallel_tool_calls?: boolean;
  response_format?: "auto" | {
    type: "text";
  } | {
    type: "json_object";
  } | {
    type: "json_schema";
    json_schema: {
      name: string;
      description?: string;
      schema?: Record<string, unknown>;
      strict?: boolean | null;
    };
  };
  attachments?: {
    file_id: string;
    tools?: {
      type: "code_interpreter" | "file_search";
    }[];
  } | {
    url: string;
    filename?: string;
    tools?: {
      type: "code_interpreter" | "file_search";
    }[];
  }[];
  run_at?: string;
  delay_s?: number;
};

export type CancelRunRequest = Record<string, never>;

export type SubmitToolOutputsRequest = {
  tool_outputs: {
    tool_call_id: string;
    output: string;
  }[];
  stream?: boolean;
};

export type ListRunStepsResponse = {
  object: "list";
  data: RunStep[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type CreateScheduleRequest = {
  cron: string;
  timezone?: string;
  start_at?: string | null;
  end_at?: string | null;
  enabled?: boolean;
  assistant_id: string;
  input: string;
  conversation?: string | null;
  callback_url: string;
  metadata?: Record<string, string>;
};

export type ListSchedulesResponse = {
  object: "list";
  data: Schedule[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type UpdateScheduleRequest = {
  cron?: string;
  timezone?: string;
  start_at?: string | null;
  end_at?: string | null;
  enabled?: boolean;
  assistant_id?: string;
  input?: string;
  conversation?: string | null;
  callback_url?: string;
  metadata?: Record<string, string>;
};

export type DeleteScheduleResponse = {
  id: string;
  object: "schedule.deleted";
  deleted: true;
  [key: string]: unknown;
};

export type CreateIntegrationRequest = {
  type: "slack" | "discord";
  assistant_id: string;
  credentials: Record<string, string>;
  options?: Record<string, unknown>;
  metadata?: Record<string, string>;
};

export type CreateIntegrationResponse = {
  id: string;
  object: "integration";
  created_at: number;
  type: "slack" | "discord";
  assistant_id: string;
  /** The credentials' names; their values are write-only and always shown masked. */
  credentials: Record<string, "********">;
  options: Record<string, unknown>;
  metadata: Record<string, string>;
  /** Where the platform sends its events (no API key; signed by the platform). */
  inbound_url: string;
  [key: string]: unknown;
};

export type ListIntegrationsResponse = {
  object: "list";
  data: CreateIntegrationResponse[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type UpdateIntegrationRequest = {
  assistant_id?: string;
  credentials?: Record<string, string>;
  options?: Record<string, unknown>;
  metadata?: Record<string, string>;
};

export type DeleteIntegrationResponse = {
  id: string;
  object: "integration.deleted";
  deleted: true;
  [key: string]: unknown;
};

export type ForgetConversationResponse = {
  id: string;
  object: "conversation.deleted";
  deleted: true;
  [key: string]: unknown;
};

export type CreateAssistantRequest = {
  model: string;
  name?: string | null;
  description?: string | null;
  instructions?: string | null;
  tools?: {
    type: "code_interpreter";
  } | {
    type: "retrieval";
  } | {
    type: "file_search";
    file_search?: {
      vector_store_ids?: string[];
      max_num_results?: number;
      ranking_options?: Record<string, unknown>;
    };
  } | {
    type: "function";
    function: {
      name: string;
      description?: string;
      parameters?: Record<string, unknown>;
      strict?: boolean | null;
    };
    endpoint?: {
      url: string;
      headers?: Record<string, string>;
      timeout_ms?: number;
    };
  }[];
  tool_errors?: "continue" | "fail";
  tool_resources?: {
    code_interpreter?: {
      file_ids?: string[];
    };
    file_search?: {
      vector_store_ids?: string[];
      vector_stores?: {
        file_ids?: string[];
        chunking_strategy?: Record<string, unknown>;
        metadata?: Record<string, string> | null;
      }[];
    };
  } | null;
  metadata?: Record<string, string> | null;
  temperature?: number | null;
  top_p?: number | null;
  response_format?: "auto" | {
    type: "text";
  } | {
    type: "json_object";
  } | {
    type: "json_schema";
    json_schema: {
      name: string;
      description?: string;
      schema?: Record<string, unknown>;
      strict?: boolean | null;
    };
  };
  reasoning_effort?: string | null;
  file_ids?: string[];
};

export type ListAssistantsResponse = {
  object: "list";
  data: Assistant[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type ModifyAssistantRequest = {
  model?: string;
  name?: string | null;
  description?: string | null;
  instructions?: string | null;
  tools?: {
    type: "code_interpreter";
  } | {
    type: "retrieval";
  } | {
    type: "file_search";
    file_search?: {
      vector_store_ids?: string[];
      max_num_results?: number;
      ranking_options?: Record<string, unknown>;
    };
  } | {
    type: "function";
    function: {
      name: string;
      description?: string;
      parameters?: Record<string, unknown>;
      strict?: boolean | null;
    };
    endpoint?: {
      url: string;
      headers?: Record<string, string>;
      timeout_ms?: number;
    };
  }[];
  tool_errors?: "continue" | "fail";
  tool_resources?: {
    code_interpreter?: {
      file_ids?: string[];
    };
    file_search?: {
      vector_store_ids?: string[];
      vector_stores?: {
        file_ids?: string[];
        chunking_strategy?: Record<string, unknown>;
        metadata?: Record<string, string> | null;
      }[];
    };
  } | null;
  metadata?: Record<string, string> | null;
  temperature?: number | null;
  top_p?: number | null;
  response_format?: "auto" | {
    type: "text";
  } | {
    type: "json_object";
  } | {
    type: "json_schema";
    json_schema: {
      name: string;
      description?: string;
      schema?: Record<string, unknown>;
      strict?: boolean | null;
    };
  };
  reasoning_effort?: string | null;
  file_ids?: string[];
};

export type DeleteAssistantResponse = {
  id: string;
  object: "assistant.deleted";
  deleted: true;
  [key: string]: unknown;
};

export type AttachAssistantFileRequest = {
  file_id: string;
};

export type ListAssistantFilesResponse = {
  object: "list";
  data: AssistantFile[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type DetachAssistantFileResponse = {
  id: string;
  object: "assistant.file.deleted";
  deleted: true;
  [key: string]: unknown;
};

export type CreateThreadRequest = {
  messages?: CreateMessageRequest[];
  metadata?: Record<string, string> | null;
  tool_resources?: {
    code_interpreter?: {
      file_ids?: string[];
    };
    file_search?: {
      vector_store_ids?: string[];
      vector_stores?: {
        file_ids?: string[];
        chunking_strategy?: Record<string, unknown>;
        metadata?: Record<string, string> | null;
      }[];
    };
  } | null;
};

export type ModifyThreadRequest = {
  metadata?: Record<string, string> | null;
  tool_resources?: {
    code_interpreter?: {
      file_ids?: string[];
    };
    file_search?: {
      vector_store_ids?: string[];
      vector_stores?: {
        file_ids?: string[];
        chunking_strategy?: Record<string, unknown>;
        metadata?: Record<string, string> | null;
      }[];
    };
  } | null;
};

export type DeleteThreadResponse = {
  id: string;
  object: "thread.deleted";
  deleted: true;
  [key: string]: unknown;
};

export type ListMessagesResponse = {
  object: "list";
  data: Message[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type CreateMessageRequest = {
  role: "user" | "assistant";
  content: string | {
    type: "text";
    text: string;
  } | {
    type: "image_url";
    image_url: {
      url: string;
      detail?: "auto" | "low" | "high";
    };
  } | {
    type: "image_file";
    image_file: {
      file_id: string;
      detail?: "auto" | "low" | "high";
    };
  }[];
  attachments?: {
    file_id: string;
    tools?: {
      type: "code_interpreter" | "file_search";
    }[];
  }[] | null;
  metadata?: Record<string, string> | null;
  file_ids?: string[];
};

export type ModifyMessageRequest = {
  metadata?: Record<string, string> | null;
};

export type DeleteMessageResponse = {
  id: string;
  object: "thread.message.deleted";
  deleted: true;
  [key: string]: unknown;
};

export type CreateThreadAndRunRequest = {
  assistant_id: string;
  model?: string | null;
  instructions?: string | null;
  tools?: {
    type: "code_interpreter";
  } | {
    type: "retrieval";
  } | {
    type: "file_search";
    file_search?: {
      vector_store_ids?: string[];
      max_num_results?: number;
      ranking_options?: Record<string, unknown>;
    };
  } | {
    type: "function";
    function: {
      name: string;
      description?: string;
      parameters?: Record<string, unknown>;
      strict?: boolean | null;
    };
    endpoint?: {
      url: string;
      headers?: Record<string, string>;
      timeout_ms?: number;
    };
  }[] | null;
  metadata?: Record<string, string> | null;
  temperature?: number | null;
  top_p?: number | null;
  max_prompt_tokens?: number | null;
  max_completion_tokens?: number | null;
  truncation_strategy?: {
    type: "auto" | "last_messages";
    last_messages?: number | null;
  } | null;
  tool_choice?: (("none" | "auto" | "required") | {
    type: "function";
    function: {
      name: string;
    };
  } | {
    type: "file_search" | "code_interpreter";
  }) | null;
  parallel_tool_calls?: boolean;
  response_format?: ("auto" | {
    type: "text";
  } | {
    type: "json_object";
  } | {
    type: "json_schema";
    json_schema: {
      name: string;
      description?: string;
      schema?: Record<string, unknown>;
      strict?: boolean | null;
    };
  }) | null;
  reasoning_effort?: ("none" | "minimal" | "low" | "medium" | "high" | "xhigh" | "max") | null;
  stream?: boolean | null;
  callback_url?: string;
  callback_headers?: Record<string, string>;
  timeout_s?: number;
  thread?: CreateThreadRequest;
  tool_resources?: {
    code_interpreter?: {
      file_ids?: string[];
    };
    file_search?: {
      vector_store_ids?: string[];
      vector_stores?: {
        file_ids?: string[];
        chunking_strategy?: Record<string, unknown>;
        metadata?: Record<string, string> | null;
      }[];
    };
  } | null;
};

export type ListRunsResponse = {
  object: "list";
  data: Run[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type CreateRunRequest = {
  assistant_id: string;
  model?: string | null;
  instructions?: string | null;
  tools?: {
    type: "code_interpreter";
  } | {
    type: "retrieval";
  } | {
    type: "file_search";
    file_search?: {
      vector_store_ids?: string[];
      max_num_results?: number;
      ranking_options?: Record<string, unknown>;
    };
  } | {
    type: "function";
    function: {
      name: string;
      description?: string;
      parameters?: Record<string, unknown>;
      strict?: boolean | null;
    };
    endpoint?: {
      url: string;
      headers?: Record<string, string>;
      timeout_ms?: number;
    };
  }[] | null;
  metadata?: Record<string, string> | null;
  temperature?: number | null;
  top_p?: number | null;
  max_prompt_tokens?: number | null;
  max_completion_tokens?: number | null;
  truncation_strategy?: {
    type: "auto" | "last_messages";
    last_messages?: number | null;
  } | null;
  tool_choice?: (("none" | "auto" | "required") | {
    type: "function";
    function: {
      name: string;
    };
  } | {
    type: "file_search" | "code_interpreter";
  }) | null;
  parallel_tool_calls?: boolean;
  response_format?: ("auto" | {
    type: "text";
  } | {
    type: "json_object";
  } | {
    type: "json_schema";
    json_schema: {
      name: string;
      description?: string;
      schema?: Record<string, unknown>;
      strict?: boolean | null;
    };
  }) | null;
  reasoning_effort?: ("none" | "minimal" | "low" | "medium" | "high" | "xhigh" | "max") | null;
  stream?: boolean | null;
  callback_url?: string;
  callback_headers?: Record<string, string>;
  timeout_s?: number;
  additional_instructions?: string | null;
  additional_messages?: CreateMessageRequest[] | null;
};

export type ListThreadRunStepsResponse = {
  object: "list";
  data: RunStep[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type ListModelsResponse = {
  object: "list";
  data: Model[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type ListFilesResponse = {
  object: "list";
  data: File[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type DeleteFileResponse = {
  id: string;
  object: "file";
  deleted: true;
  [key: string]: unknown;
};

export type CreateVectorStoreRequest = {
  name?: string;
  description?: string;
  file_ids?: string[];
  metadata?: Record<string, string> | null;
  expires_after?: {
    anchor: "last_active_at";
    days: number;
  };
  chunking_strategy?: {
    type: "auto";
  } | {
    type: "static";
    static: {
      max_chunk_size_tokens: number;
      chunk_overlap_tokens: number;
    };
  };
};

export type ListVectorStoresResponse = {
  object: "list";
  data: VectorStore[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type ModifyVectorStoreRequest = {
  name?: string | null;
  metadata?: Record<string, string> | null;
  expires_after?: {
    anchor: "last_active_at";
    days: number;
  } | null;
};

export type DeleteVectorStoreResponse = {
  id: string;
  object: "vector_store.deleted";
  deleted: true;
  [key: string]: unknown;
};

export type AddVectorStoreFileRequest = {
  file_id: string;
  attributes?: Record<string, string | number | boolean>;
  chunking_strategy?: {
    type: "auto";
  } | {
    type: "static";
    static: {
      max_chunk_size_tokens: number;
      chunk_overlap_tokens: number;
    };
  };
};

export type ListVectorStoreFilesResponse = {
  object: "list";
  data: VectorStoreFile[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type RemoveVectorStoreFileResponse = {
  id: string;
  object: "vector_store.file.deleted";
  deleted: true;
  [key: string]: unknown;
};

export type CreateFileBatchRequest = {
  file_ids?: string[];
  files?: AddVectorStoreFileRequest[];
  attributes?: Record<string, string | number | boolean>;
  chunking_strategy?: {
    type: "auto";
  } | {
    type: "static";
    static: {
      max_chunk_size_tokens: number;
      chunk_overlap_tokens: number;
    };
  };
};

export type ListFileBatchFilesResponse = {
  object: "list";
  data: VectorStoreFile[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type CreateKeyRequest = {
  name?: string | null;
  role: "member" | "editor" | "admin";
  assistant_ids?: string[] | null;
  rate_limit_per_min?: number | null;
};

export type ListKeysResponse = {
  object: "list";
  data: ApiKey[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type RotateWebhookSecretRequest = {
  window_s?: number;
};

export type AdminCreateTenantRequest = {
  name?: string | null;
  limits?: {
    max_active_runs?: number | null;
    monthly_runs?: number | null;
    monthly_tokens?: number | null;
  };
  id?: string;
};

export type AdminListTenantsResponse = {
  object: "list";
  data: Tenant[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type AdminUpdateTenantRequest = {
  name?: string | null;
  limits?: {
    max_active_runs?: number | null;
    monthly_runs?: number | null;
    monthly_tokens?: number | null;
  };
};

export type AdminListKeysResponse = {
  object: "list";
  data: ApiKey[];
  first_id?: string | null;
  last_id?: string | null;
  has_more?: boolean;
  [key: string]: unknown;
};

export type RunCompletedEvent = {
  /** Stable across retries: deduplicate on it (it is also `webhook-id`). */
  id: string;
  type: "run.completed";
  created_at: number;
  data: {
    run: Run;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

export type RunFailedEvent = {
  /** Stable across retries: deduplicate on it (it is also `webhook-id`). */
  id: string;
  type: "run.failed";
  created_at: number;
  data: {
    run: Run;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

export type RunCancelledEvent = {
  /** Stable across retries: deduplicate on it (it is also `webhook-id`). */
  id: string;
  type: "run.cancelled";
  created_at: number;
  data: {
    run: Run;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

export type RunExpiredEvent = {
  /** Stable across retries: deduplicate on it (it is also `webhook-id`). */
  id: string;
  type: "run.expired";
  created_at: number;
  data: {
    run: Run;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

export type RunIncompleteEvent = {
  /** Stable across retries: deduplicate on it (it is also `webhook-id`). */
  id: string;
  type: "run.incomplete";
  created_at: number;
  data: {
    run: Run;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

export type RunRequiresActionEvent = {
  /** Stable across retries: deduplicate on it (it is also `webhook-id`). */
  id: string;
  type: "run.requires_action";
  created_at: number;
  data: {
    run: Run;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

/** Every callback event a run delivers. */
export type WebhookEvent = RunCompletedEvent | RunFailedEvent | RunCancelledEvent | RunExpiredEvent | RunIncompleteEvent | RunRequiresActionEvent;
