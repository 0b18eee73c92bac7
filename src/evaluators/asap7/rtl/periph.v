// gem_periph: everything around the mesh. Input skew (tile row i and tile column j wait i and
// j cycles, as Gemmini's MeshWithDelays), the output register and de-skew (tile column j waits
// C-1-j more cycles), the accumulator read-modify-write adders, and the DMA width converters
// between the ${DMA}-bit bus and scratchpad / accumulator rows.
module gem_periph (input clk, input rst, input ws, input preload, input last, input accumulate,
  input [${ROW}-1:0] sp_rdata_a, input [${ROW}-1:0] sp_rdata_b, input [${AROW}-1:0] acc_rdata,
  output [${AROW}-1:0] acc_wdata,
  input dma_valid, input [${DMA}-1:0] dma_in, output sp_wvalid, output [${ROW}-1:0] sp_wdata,
  input dma_rd_next, output reg [${DMA}-1:0] dma_out,
  output [${R}-1:0] m_last, output [${DIM}*${IB}-1:0] m_a, output [${DIM}*${BW}-1:0] m_b,
  output [${DIM}*${DW}-1:0] m_d, input [${DIM}*${BW}-1:0] m_out_b, input [${DIM}*${DW}-1:0] m_out_d);
  localparam R = ${R}, C = ${C}, TC = ${TC}, DIM = ${DIM}, DF = ${DF};  // DF: 0 OS, 1 WS, 2 BOTH
  localparam IB = ${IB}, AB = ${AB}, BW = ${BW}, DW = ${DW}, AW = ${TR}*${IB};
  localparam ROW = ${ROW}, DMA = ${DMA}, BEATS = ${BEATS}, CW = ${CW}, RBEATS = ${RBEATS}, RW = ${RW};
  genvar i, j, c, k;
  generate
    for (i = 0; i < R; i = i + 1) begin : skew_a
      wire [AW-1:0] src = sp_rdata_a[i*AW +: AW];
      if (i == 0) begin : now
        assign m_a[i*AW +: AW] = src;
        assign m_last[i] = last;
      end else begin : later
        reg [i*AW-1:0] sr;
        reg [i-1:0] sl;
        always @(posedge clk) begin sr <= {sr, src}; sl <= {sl, last}; end
        assign m_a[i*AW +: AW] = sr[(i-1)*AW +: AW];
        assign m_last[i] = sl[i-1];
      end
    end
    for (j = 0; j < C; j = j + 1) begin : skew_b
      wire [TC*IB-1:0] src = sp_rdata_b[j*TC*IB +: TC*IB];
      wire [TC*IB-1:0] late;
      if (j == 0) begin : now
        assign late = src;
      end else begin : later
        reg [j*TC*IB-1:0] sr;
        always @(posedge clk) sr <= {sr, src};
        assign late = sr[(j-1)*TC*IB +: TC*IB];
      end
      for (c = 0; c < TC; c = c + 1) begin : lane
        // b operand (skewed) and weight for preload (not skewed), sign-extended where needed
        wire signed [IB-1:0] bop = late[c*IB +: IB];
        wire signed [IB-1:0] wop = src[c*IB +: IB];
        wire signed [BW-1:0] bop_x = bop;
        wire signed [DW-1:0] wop_x = wop;
        if (DF == 0) begin : os
          assign m_b[(j*TC+c)*BW +: BW] = bop_x;
          assign m_d[(j*TC+c)*DW +: DW] = {DW{1'b0}};
        end else if (DF == 1) begin : ws_only
          assign m_b[(j*TC+c)*BW +: BW] = {BW{1'b0}};
          assign m_d[(j*TC+c)*DW +: DW] = wop_x;
        end else begin : both
          assign m_b[(j*TC+c)*BW +: BW] = ws ? {BW{1'b0}} : bop_x;
          assign m_d[(j*TC+c)*DW +: DW] = ws ? wop_x : {DW{1'b0}};
        end
      end
    end
    for (k = 0; k < DIM; k = k + 1) begin : deskew
      wire [AB-1:0] src;
      if (DF == 0) begin : os
        assign src = m_out_d[k*AB +: AB];
      end else if (DF == 1) begin : ws_only
        assign src = m_out_b[k*AB +: AB];
      end else begin : both
        assign src = ws ? m_out_b[k*AB +: AB] : m_out_d[k*AB +: AB];
      end
      // output register plus C-1-j de-skew stages: C-j registers in all
      localparam DEPTH = C - k / TC;
      reg [DEPTH*AB-1:0] sr;
      always @(posedge clk) sr <= {sr, src};
      wire [AB-1:0] res = sr[(DEPTH-1)*AB +: AB];
      assign acc_wdata[k*AB +: AB] = accumulate ? acc_rdata[k*AB +: AB] + res : res;
    end
    // DMA in: pack bus beats into scratchpad rows
    if (DMA >= ROW) begin : dma_wide
      reg [ROW-1:0] dma_buf;
      reg dma_v;
      always @(posedge clk) begin dma_buf <= dma_in[ROW-1:0]; dma_v <= dma_valid; end
      assign sp_wdata = dma_buf;
      assign sp_wvalid = dma_v;
    end else begin : dma_narrow
      reg [BEATS*DMA-1:0] dma_buf;
      reg [CW-1:0] dma_cnt;
      reg dma_v;
      always @(posedge clk)
        if (rst) begin dma_cnt <= 0; dma_v <= 0; end
        else begin
          dma_v <= dma_valid && dma_cnt == BEATS - 1;
          if (dma_valid) begin
            dma_cnt <= dma_cnt == BEATS - 1 ? {CW{1'b0}} : dma_cnt + 1'b1;
            dma_buf <= {dma_in, dma_buf[BEATS*DMA-1:DMA]};
          end
        end
      assign sp_wdata = dma_buf[ROW-1:0];
      assign sp_wvalid = dma_v;
    end
  endgenerate
  // DMA out: slice accumulator rows into bus beats
  reg [RW-1:0] rd_idx;
  wire [RBEATS*DMA-1:0] acc_pad = acc_rdata;
  always @(posedge clk) begin
    if (rst) rd_idx <= 0;
    else if (dma_rd_next) rd_idx <= rd_idx == RBEATS - 1 ? {RW{1'b0}} : rd_idx + 1'b1;
    dma_out <= acc_pad[rd_idx*DMA +: DMA];
  end
endmodule
