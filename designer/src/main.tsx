import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router-dom";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { App } from "./App";

createRoot(document.getElementById("root")!).render(
  <BrowserRouter basename="/workflow_orchestration">
    <App />
  </BrowserRouter>,
);
