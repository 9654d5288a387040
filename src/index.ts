// Public API of lathe. Each layer re-exports from its own index.
export {};
