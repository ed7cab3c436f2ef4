// Starts GraphiQL (loaded just before, with React, by the GraphiQL page) on Guichet's
// endpoint. The session cookie goes with each request, as for the web pages.
const root = ReactDOM.createRoot(document.getElementById('graphiql'));
root.render(
  React.createElement(GraphiQL, {
    fetcher: GraphiQL.createFetcher({ url: new URL('/graphql', window.location.origin).toString() }),
    defaultEditorToolsVisibility: true,
  }),
);
