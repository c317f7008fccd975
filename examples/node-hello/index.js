'use strict';
// A Node.js function instrumented with the OpenTelemetry API only: the
// Coldtrace bootstrap wires the API to the SDK, and these spans become
// children of the runtime's invocation span.
const { trace, SpanStatusCode } = require('@opentelemetry/api');

const tracer = trace.getTracer('node-hello');

// Module scope runs once per instance, during init (the cold start).
const greetings = ['hello', 'hi', 'hey'];

async function lookUpUser(name) {
  return tracer.startActiveSpan('lookup-user', async (span) => {
    span.setAttribute('user.name', name);
    await new Promise((resolve) => setTimeout(resolve, 5));
    span.end();
    return { name, visits: name.length };
  });
}

exports.handler = async (event, context) => {
  return tracer.startActiveSpan('greet', async (span) => {
    try {
      // The HTTP trigger sends an API Gateway event; a direct invoke, any JSON.
      const params = (event && event.queryStringParameters) || event || {};
      const name = params.name || 'world';
      const user = await lookUpUser(name);
      const greeting = `${greetings[user.visits % greetings.length]} ${name}`;
      span.setAttribute('greeting', greeting);
      console.log(`greeted ${name}; ${context.getRemainingTimeInMillis()} ms left`);
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ greeting, requestId: context.awsRequestId }) };
    } catch (err) {
      span.recordException(err);
      span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
      throw err;
    } finally {
      span.end();
    }
  });
};
