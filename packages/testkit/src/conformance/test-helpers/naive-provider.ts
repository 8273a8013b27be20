import type { ChatRequest, ChatResponse, ProviderV1, StreamEvent } from '@bulwark/core';

/**
 * An OpenAI-compatible provider written the naive way, without `@bulwark/provider-utils`: no signal
 * passed to `fetch`, plain `Error`s, `finish` whenever the body ends. The suite's own test runs the
 * conformance suite against it to check that every failure names the obligation and the helper.
 */
export function createNaiveProvider(options: { baseURL: string; apiKey: string }): ProviderV1 {
  const send = (request: ChatRequest, stream: boolean) =>
    fetch(`${options.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` },
      body: JSON.stringify({
        model: request.model,
        messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
        stream,
      }),
    });

  async function complete(request: ChatRequest): Promise<ChatResponse> {
    const response = await send(request, false);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = (await response.json()) as {
      id: string;
      model: string;
      choices: Array<{ message: { content: string }; finish_reason: 'stop' }>;
    };
    return {
      id: body.id,
      model: body.model,
      provider: 'naive',
      text: body.choices[0]?.message.content ?? '',
      toolCalls: [],
      finishReason: body.choices[0]?.finish_reason ?? 'stop',
      attempts: [],
    };
  }

  async function* stream(request: ChatRequest): AsyncGenerator<StreamEvent> {
    const response = await send(request, true);
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    yield { type: 'start', id: 'naive', provider: 'naive', model: request.model };
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      for (const line of decoder.decode(read.value).split('\n')) {
        if (!line.startsWith('data: {')) continue;
        const chunk = JSON.parse(line.slice(6)) as { choices?: Array<{ delta: { content?: string } }> };
        const text = chunk.choices?.[0]?.delta.content;
        if (text) yield { type: 'text-delta', text };
      }
    }
    yield { type: 'finish', finishReason: 'stop' };
  }

  return {
    specificationVersion: 'v1',
    name: 'naive',
    system: 'openai',
    capabilities: { streaming: true, tools: true, vision: false, jsonMode: false, embeddings: false },
    complete,
    stream,
  };
}
