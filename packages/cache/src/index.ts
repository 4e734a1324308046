// This package is built in a later issue (see README: Status).
export {};
