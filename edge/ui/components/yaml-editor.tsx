import { autocompletion, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import {
  bracketMatching,
  indentOnInput,
  syntaxHighlighting,
  defaultHighlightStyle,
} from '@codemirror/language';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { useEffect, useRef } from 'preact/hooks';
import { schemaCompletion, type ConfigSchemas } from '../lib/schema-complete.js';

/**
 * CodeMirror 6 with YAML, the schema completion and the server's errors as diagnostics (every
 * error at once, at its line). The page owns the text; `issues` come from POST /validate.
 */
export interface EditorIssue {
  path: string;
  message: string;
  line?: number;
  col?: number;
}

export interface EditorHandle {
  view: EditorView | null;
  jumpTo(line: number): void;
  setText(text: string): void;
}

export interface YamlEditorProps {
  initial: string;
  schemas: ConfigSchemas | null;
  issues: EditorIssue[];
  readOnly?: boolean;
  onChange: (text: string) => void;
  handle?: (h: EditorHandle) => void;
}

export function YamlEditor(props: YamlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const schemas = useRef(props.schemas);
  const onChange = useRef(props.onChange);
  schemas.current = props.schemas;
  onChange.current = props.onChange;

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: props.initial,
        extensions: [
          lineNumbers(),
          history(),
          indentOnInput(),
          bracketMatching(),
          highlightActiveLine(),
          syntaxHighlighting(defaultHighlightStyle),
          yaml(),
          lintGutter(),
          autocompletion({ override: [schemaCompletion(() => schemas.current)] }),
          keymap.of([...defaultKeymap, ...historyKeymap, ...completionKeymap, indentWithTab]),
          EditorState.tabSize.of(2),
          EditorState.readOnly.of(props.readOnly === true),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChange.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    props.handle?.({
      view: v,
      jumpTo(line) {
        const l = v.state.doc.line(Math.min(Math.max(line, 1), v.state.doc.lines));
        v.dispatch({ selection: { anchor: l.from }, scrollIntoView: true });
        v.focus();
      },
      setText(text) {
        v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: text } });
      },
    });
    return () => v.destroy();
  }, []);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const diagnostics: Diagnostic[] = props.issues.flatMap((i) => {
      if (!i.line || i.line > v.state.doc.lines) return [];
      const line = v.state.doc.line(i.line);
      const from = Math.min(line.from + Math.max((i.col ?? 1) - 1, 0), line.to);
      return [{ from, to: line.to, severity: 'error', message: `${i.path}: ${i.message}` }];
    });
    v.dispatch(setDiagnostics(v.state, diagnostics));
  }, [props.issues]);

  return <div class="editor" ref={host} data-testid="yaml-editor" />;
}
